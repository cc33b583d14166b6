#!/usr/bin/env python3
"""How many of bpfvet's errors carry a source line, on reference programs.

Runs `bpfvet check --format json` on every program of
../shared/corpus/kernel-verdicts.csv and ../shared/kernel-selftests/manifest.csv
(with the program type the table gives) and counts, per corpus, the errors
whose object has BTF line info: with a line (> 0), without one, and with
line 0. Prints one table; exit 0.

    python3 scripts/source_line_coverage.py build/bpfvet [--shared ../shared]
"""
import argparse
import csv
import json
import os
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor


def corpora(shared):
    samples = os.path.join(shared, "corpus", "ebpf-samples")
    table = os.path.join(shared, "corpus", "kernel-verdicts.csv")
    if os.path.exists(table):
        rows = list(csv.DictReader(open(table)))
        yield "ebpf-samples", [(os.path.join(samples, r["file"]), r["section"], r["program"], r["prog_type"]) for r in rows]
    selftests = os.path.join(shared, "kernel-selftests")
    manifest = os.path.join(selftests, "manifest.csv")
    if os.path.exists(manifest):
        rows = list(csv.DictReader(open(manifest)))
        yield "kernel-selftests", [(os.path.join(selftests, r["file"]), r["section"], r["program"], r["prog_type"])
                                   for r in rows]


def has_line_info(path, cache={}):
    """Whether the object has a .BTF.ext section (line info lives there)."""
    if path not in cache:
        out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True).stdout
        cache[path] = ".BTF.ext" in out
    return cache[path]


def check(bpfvet, job):
    path, section, program, prog_type = job
    command = [bpfvet, "check", path, "--section", section, "--program", program, "--format", "json"]
    if prog_type:
        command += ["--type", prog_type]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
        report = json.loads(out)
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    return [e for p in report.get("programs", []) for e in p.get("errors", [])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bpfvet")
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    args = parser.parse_args()
    print(f"{'corpus':18} {'errors':>7} {'with line':>10} {'no line':>8} {'line 0':>7}")
    for name, jobs in corpora(args.shared):
        jobs = [j for j in jobs if has_line_info(j[0])]
        counts = Counter()
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            for errors in pool.map(lambda j: check(args.bpfvet, j), jobs):
                for error in errors:
                    counts["errors"] += 1
                    line = error.get("line")
                    counts["with line" if line else ("line 0" if line == 0 else "no line")] += 1
        print(f"{name:18} {counts['errors']:7} {counts['with line']:10} {counts['no line']:8} {counts['line 0']:7}")


if __name__ == "__main__":
    main()
