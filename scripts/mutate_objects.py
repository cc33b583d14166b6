#!/usr/bin/env python3
"""Mutation campaign: bad input never crashes bpfvet.

Takes real eBPF objects (by default the shared corpora), damages copies of them
(byte flips, interesting values written over header fields, truncation) and
runs `sections`, `check`, `disasm` and `run` on each. Flags any run that ends by
a signal, exits with a code other than 0, 1 or 2, takes over 10 s or peaks over
2 GiB of memory; flagged mutants are kept for replay. Reproducible from --seed.

    python3 scripts/mutate_objects.py build/bpfvet --count 2000 --jobs 2 --keep /tmp/mutants

Not part of ctest: it runs for as long as it is asked to.
"""

import argparse
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TIME_LIMIT = 10.0             # seconds per command
MEMORY_LIMIT = 2 << 30        # bytes of peak RSS per command
INTERESTING_32 = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]

COMMANDS = [
    ["sections"],
    ["sections", "--format", "json"],
    ["disasm"],
    ["check", "--format", "json", "--max-seconds", "5"],
    ["check", "--format", "sarif", "--max-seconds", "5"],
    ["run", "--engine", "interp", "--no-verify", "--type", "xdp", "--packet", "00" * 64],
    ["run", "--type", "xdp", "--packet", "00" * 64],
]


def default_corpora(shared: Path):
    candidates = [shared / "corpus" / "ebpf-samples", shared / "bcf-corpus", shared / "kernel-selftests", shared / "repro"]
    return [p for p in candidates if p.is_dir()]


def find_objects(roots, limit_bytes=4 << 20):
    objects = []
    for root in roots:
        for path in sorted(root.rglob("*.o")):
            try:
                if path.is_file() and 0 < path.stat().st_size <= limit_bytes:
                    objects.append(path)
            except OSError:
                pass
    return objects


def header_fields(data: bytes):
    """Offsets of 4-byte fields worth hitting: the ELF header and each section header."""
    offsets = list(range(0x10, 0x40, 4))
    if len(data) >= 0x40 and data[:4] == b"\x7fELF":
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        if shentsize == 64 and shoff + shnum * 64 <= len(data):
            for index in range(shnum):
                base = shoff + index * 64
                offsets += [base + o for o in (0, 4, 0x18, 0x20, 0x28, 0x2C, 0x30, 0x38)]
    return [o for o in offsets if o + 4 <= len(data)]


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    # Mostly one change: a mutant far from a real object only tests the first check it fails.
    for _ in range(rng.choice([1, 1, 1, 2, 3, 4])):
        if not out:
            break
        choice = rng.random()
        if choice < 0.35:  # flip bits of one byte
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif choice < 0.55:  # a random byte
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif choice < 0.8:  # an interesting value over a header field
            fields = header_fields(bytes(out))
            i = rng.choice(fields) if fields and rng.random() < 0.7 else rng.randrange(max(1, len(out) - 4))
            if i + 4 <= len(out):
                out[i:i + 4] = struct.pack("<I", rng.choice(INTERESTING_32))
        elif choice < 0.9:  # truncate
            out = out[:rng.randrange(len(out))]
        else:  # an interesting value anywhere (counts, indices, sizes in BTF and code)
            i = rng.randrange(max(1, len(out) - 4))
            if i + 4 <= len(out):
                out[i:i + 4] = struct.pack("<I", rng.choice(INTERESTING_32))
    return bytes(out)


def run_one(bpfvet: str, arguments, path: str):
    """(exit code or -signal, seconds, peak RSS bytes, tail of stderr); -999 on a timeout."""
    with tempfile.TemporaryFile() as stderr:
        start = time.monotonic()
        process = subprocess.Popen([bpfvet] + arguments + [path], stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > TIME_LIMIT:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.monotonic() - start
        process.returncode = 0  # reaped by wait4
        stderr.seek(0)
        tail = stderr.read()[-400:].decode("utf-8", "replace")
    if timed_out:
        code = -999
    elif os.WIFSIGNALED(status):
        code = -os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    return code, seconds, usage.ru_maxrss * 1024, tail


def campaign_slice(job):
    bpfvet, objects, seed, count, keep = job
    rng = random.Random(seed)
    flagged, exits, runs = [], {}, 0
    slowest, biggest = 0.0, 0
    with tempfile.TemporaryDirectory(prefix="bpfvet-mutants-") as directory:
        mutant_path = os.path.join(directory, "mutant.o")
        for n in range(count):
            source = rng.choice(objects)
            data = mutate(Path(source).read_bytes(), rng)
            Path(mutant_path).write_bytes(data)
            for arguments in COMMANDS:
                code, seconds, peak, tail = run_one(bpfvet, arguments, mutant_path)
                runs += 1
                exits[str(code)] = exits.get(str(code), 0) + 1
                slowest, biggest = max(slowest, seconds), max(biggest, peak)
                problem = None
                if code == -999:
                    problem = f"over {TIME_LIMIT:.0f} s"
                elif code < 0:
                    problem = f"signal {-code} ({signal.Signals(-code).name})"
                elif code not in (0, 1, 2):
                    problem = f"exit code {code}"
                elif seconds > TIME_LIMIT:
                    problem = f"{seconds:.1f} s"
                elif peak > MEMORY_LIMIT:
                    problem = f"peak {peak >> 20} MiB"
                if problem:
                    name = f"mutant-{seed}-{n}.o"
                    if keep:
                        Path(keep).mkdir(parents=True, exist_ok=True)
                        Path(keep, name).write_bytes(data)
                    flagged.append({"mutant": name, "source": str(source), "command": " ".join(arguments),
                                    "problem": problem, "stderr": tail})
    return {"mutants": count, "runs": runs, "exits": exits, "flagged": flagged, "slowest": slowest, "biggest": biggest}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bpfvet", help="path of the bpfvet binary")
    parser.add_argument("--corpus", action="append", type=Path, help="directory of objects (repeatable; "
                        "default: ../shared corpora)")
    parser.add_argument("--count", type=int, default=1000, help="mutants to make (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel slices (default 1)")
    parser.add_argument("--keep", help="directory where flagged mutants are written")
    parser.add_argument("--out", help="write the figures and flagged runs as JSON here")
    args = parser.parse_args()

    shared = Path(__file__).resolve().parent.parent.parent / "shared"
    roots = args.corpus or default_corpora(shared)
    objects = find_objects(roots)
    if not objects:
        print("mutate_objects: no objects found (give --corpus)", file=sys.stderr)
        return 2
    jobs = max(1, args.jobs)
    per_job = [args.count // jobs + (1 if i < args.count % jobs else 0) for i in range(jobs)]
    work = [(args.bpfvet, [str(o) for o in objects], args.seed * 1000 + i, n, args.keep) for i, n in enumerate(per_job) if n]
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(campaign_slice, work))
    total = {"mutants": sum(r["mutants"] for r in results), "runs": sum(r["runs"] for r in results),
             "exits": {}, "flagged": [f for r in results for f in r["flagged"]],
             "slowest_seconds": max(r["slowest"] for r in results), "peak_mib": max(r["biggest"] for r in results) >> 20,
             "objects": len(objects), "seed": args.seed, "seconds": round(time.monotonic() - start, 1)}
    for r in results:
        for code, n in r["exits"].items():
            total["exits"][code] = total["exits"].get(code, 0) + n
    print(f"{total['mutants']} mutants of {total['objects']} objects, {total['runs']} runs in {total['seconds']} s; "
          f"exit codes {dict(sorted(total['exits'].items()))}; slowest {total['slowest_seconds']:.2f} s, "
          f"peak {total['peak_mib']} MiB; {len(total['flagged'])} flagged")
    for f in total["flagged"][:50]:
        print(f"  {f['problem']}: {f['command']} on {f['mutant']} (from {f['source']})\n    {f['stderr'].strip()[-200:]}")
    if args.out:
        Path(args.out).write_text(json.dumps(total, indent=2))
    return 1 if total["flagged"] else 0


if __name__ == "__main__":
    sys.exit(main())
