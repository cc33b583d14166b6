#!/usr/bin/env python3
"""bpfvet's analysis time against the running kernel's load time, in one run.

For every program of a kernel-verdict CSV, `bpfvet check --kernel --format json`
analyses it (our `seconds`: the analysis alone, without reading the object) and
loads it into the running kernel (`kernel.load_seconds`: the BPF_PROG_LOAD
call, verification included), one after the other on the same machine, so both
see the same load. Needs root (the kernel loads); programs the kernel does not
verify (loader errors, EPERM) are left out of the kernel's total.

    sudo python3 bench/kernel_speed.py build/bpfvet ../shared/corpus/kernel-verdicts.csv \
        --objects ../shared/corpus/ebpf-samples [--repeat 3]

Prints the totals, their ratio, and the slowest programs of each side; also the
largest program's time and peak memory (of the whole `bpfvet check` process).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile


def measure(bpfvet, path, row):
    cmd = [bpfvet, "check", path, "--program", row["program"], "--format", "json", "--kernel"]
    if row.get("section"):
        cmd += ["--section", row["section"]]
    if row.get("prog_type"):
        cmd += ["--type", row["prog_type"]]
    with tempfile.NamedTemporaryFile("r") as t:
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name] + cmd, capture_output=True, text=True,
                             timeout=600)
        peak_kib = int(t.read().split()[-1])
    item = json.loads(out.stdout)["programs"][0]
    kernel = item.get("kernel") or {}
    verified = kernel.get("verdict") in ("accept", "reject")
    return item["seconds"], (kernel.get("load_seconds") if verified else None), peak_kib, item.get("processed_insns")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bpfvet")
    parser.add_argument("verdicts")
    parser.add_argument("--objects", required=True)
    parser.add_argument("--repeat", type=int, default=1, help="runs per program; the fastest counts, on both sides")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("loading into the kernel needs root")

    rows = [r for r in csv.DictReader(open(args.verdicts)) if args.only in r["file"]]
    rows = [r for r in rows if (r.get("verdict") or r.get("kernel_verdict")) in ("accept", "reject")]
    ours_total = kernel_total = ours_on_kernel_set = 0.0
    slowest, largest = [], None
    for row in rows:
        path = os.path.join(args.objects, row["file"])
        best = None
        for _ in range(args.repeat):
            try:
                result = measure(args.bpfvet, path, row)
            except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError, IndexError, ValueError):
                result = None
                break
            if best is None:
                best = list(result)
            else:
                best[0] = min(best[0], result[0])
                if result[1] is not None and best[1] is not None:
                    best[1] = min(best[1], result[1])
        if best is None:
            print(f"failed: {row['file']} {row['program']}", file=sys.stderr)
            continue
        ours, kernel, kib, insns = best
        ours_total += ours
        if kernel is not None:
            kernel_total += kernel
            ours_on_kernel_set += ours
        slowest.append((ours, kernel, row["file"], row["program"]))
        if largest is None or (insns or 0) > largest[0]:
            largest = (insns or 0, ours, kib, row["file"], row["program"])
    print(f"{args.verdicts}: {len(slowest)} programs")
    print(f"  bpfvet analysis: {ours_total:.3f} s in all ({ours_on_kernel_set:.3f} s on the programs the kernel verified)")
    print(f"  kernel load (verification): {kernel_total:.3f} s")
    if kernel_total > 0:
        print(f"  ratio bpfvet / kernel: {ours_on_kernel_set / kernel_total:.2f}")
    if largest:
        print(f"  most processed instructions: {largest[3]} {largest[4]}: {largest[0]} insns, "
              f"{largest[1]:.3f} s, peak RSS {largest[2] / 1024:.0f} MiB")
    print("  slowest for bpfvet (ours s, kernel s):")
    for ours, kernel, file, program in sorted(slowest, reverse=True)[:5]:
        print(f"    {ours:.3f} {kernel if kernel is not None else float('nan'):.3f} {file} {program}")


if __name__ == "__main__":
    main()
