#!/usr/bin/env python3
"""How well bpfvet predicts the kernel's complexity figures.

For every program of a kernel-verdict CSV (columns file, program, prog_type,
verdict, processed_insns; section optional), runs `bpfvet check --format json`
and compares our `processed_insns` with the kernel's: Pearson correlation of the
logarithms, the median and quartiles of the ratio ours / kernel, and whether
every program the kernel refused as too large ("program is too large",
processed insns past 1,000,000) is predicted to exceed the limit.

    python3 bench/complexity_agreement.py build/bpfvet ../shared/bcf-corpus/kernel-verdicts.csv \
        --objects ../shared/bcf-corpus/objs [--jobs 2] [--only cilium]

Prints one line per corpus and, with --csv, writes one row per program.
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import statistics
import subprocess
import sys

LIMIT = 1_000_000


def run_one(bpfvet, objects, row):
    path = os.path.join(objects, row["file"])
    cmd = [bpfvet, "check", path, "--program", row["program"], "--format", "json"]
    if row.get("section"):
        cmd += ["--section", row["section"]]
    if row.get("prog_type"):
        cmd += ["--type", row["prog_type"]]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        data = json.loads(out.stdout)
        program = data["programs"][0]
        return int(program.get("processed_insns", program.get("steps", 0))), program["verdict"]
    except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError, IndexError, ValueError):
        return None, "error"


def pearson(xs, ys):
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sx = math.sqrt(sum((x - mx) ** 2 for x in xs))
    sy = math.sqrt(sum((y - my) ** 2 for y in ys))
    return sxy / (sx * sy) if sx and sy else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bpfvet")
    parser.add_argument("verdicts")
    parser.add_argument("--objects", required=True, help="directory the CSV's file column is relative to")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="")
    parser.add_argument("--csv", help="write one row per program here")
    args = parser.parse_args()

    with open(args.verdicts) as f:
        rows = [r for r in csv.DictReader(f) if args.only in r["file"]]
    rows = [r for r in rows if (r.get("processed_insns") or r.get("kernel_processed_insns") or "").strip()]
    for r in rows:
        r["kernel_insns"] = int(r.get("processed_insns") or r.get("kernel_processed_insns"))
        r["kernel_verdict"] = r.get("verdict") or r.get("kernel_verdict")
        if not r.get("prog_type"):
            r["prog_type"] = r.get("type", "")

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda r: run_one(args.bpfvet, args.objects, r), rows))

    pairs, too_large, too_large_predicted, out_rows = [], 0, 0, []
    for row, (ours, verdict) in zip(rows, results):
        out_rows.append({"file": row["file"], "program": row["program"], "kernel_insns": row["kernel_insns"],
                         "kernel_verdict": row["kernel_verdict"], "ours": ours, "our_verdict": verdict})
        if ours is None or ours <= 0 or row["kernel_insns"] <= 0:
            continue
        pairs.append((row["kernel_insns"], ours))
        if row["kernel_insns"] > LIMIT or "too large" in (row.get("error_line") or row.get("kernel_error_line") or ""):
            too_large += 1
            too_large_predicted += ours > LIMIT
    if not pairs:
        sys.exit("no program with counts on both sides")
    ratios = sorted(o / k for k, o in pairs)
    q = statistics.quantiles(ratios, n=4)
    r = pearson([math.log10(k) for k, _ in pairs], [math.log10(o) for _, o in pairs])
    print(f"{args.verdicts}: {len(pairs)} programs with counts on both sides")
    print(f"  correlation of log10(processed instructions): {r:.3f}")
    print(f"  ratio ours / kernel: median {statistics.median(ratios):.2f}, quartiles {q[0]:.2f} .. {q[2]:.2f}")
    print(f"  within 2x of the kernel: {sum(0.5 <= x <= 2 for x in ratios)} of {len(ratios)}")
    print(f"  kernel refused as too large: {too_large}, predicted too large: {too_large_predicted}")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
            writer.writeheader()
            writer.writerows(out_rows)


if __name__ == "__main__":
    main()
