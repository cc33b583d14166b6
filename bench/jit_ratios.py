#!/usr/bin/env python3
"""Ratio table of bpfvet_bench_jit's JSON output: ns per run of each engine
divided by native C's, per program, with geometric means, and whether every
engine's first r0 agrees.

  bpfvet_bench_jit --benchmark_format=json > out.json && python3 bench/jit_ratios.py out.json
"""
import json
import math
import sys

ENGINES = ["Native", "Jit", "JitO3", "Interpreter", "Kernel"]


def main(path):
    with open(path) as f:
        report = json.load(f)
    times, first_r0, compile_ms = {}, {}, {}
    for b in report["benchmarks"]:
        if b.get("error_occurred"):
            continue
        engine, program = b["name"].split("/")[0], b["name"].split("/")[1]
        if engine == "JitCompile":
            compile_ms[program] = b["real_time"]
            continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
        times.setdefault(program, {})[engine] = b["real_time"] * scale
        if "r0_first_run" in b:
            first_r0.setdefault(program, {})[engine] = int(b["r0_first_run"])
    print(f"{'program':10} {'native ns':>10} " + " ".join(f"{e + ' x':>14}" for e in ENGINES[1:]) +
          f" {'compile ms':>11} r0 agree")
    logs = {e: [] for e in ENGINES[1:]}
    for program, row in times.items():
        native = row.get("Native")
        cells = []
        for engine in ENGINES[1:]:
            if native and engine in row:
                ratio = row[engine] / native
                logs[engine].append(math.log(ratio))
                cells.append(f"{ratio:14.2f}")
            else:
                cells.append(f"{'-':>14}")
        agree = len(set(first_r0.get(program, {}).values())) <= 1
        print(f"{program:10} {native or float('nan'):10.1f} " + " ".join(cells) +
              f" {compile_ms.get(program, float('nan')):11.1f} {'yes' if agree else 'NO ' + str(first_r0[program])}")
    print(f"{'geomean':10} {'':10} " + " ".join(
        f"{math.exp(sum(v) / len(v)):14.2f}" if v else f"{'-':>14}" for v in logs.values()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/dev/stdin")
