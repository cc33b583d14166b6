#!/usr/bin/env bash
# `bpfvet corpus` over the whole shared corpus: wall time and peak memory of
# the run, beside the kernel's total load time measured in the same run.
#
#   bench/corpus_run.sh [BPFVET] [SHARED_DIR] [JOBS]
#
# Runs `bpfvet corpus SHARED/corpus/ebpf-samples --jobs JOBS --kernel` (types
# from kernel-verdicts.csv) into a fresh results file under /usr/bin/time, then
# prints: programs and verdicts, wall seconds, peak RSS of the largest process
# (parent or worker, from wait4), summed analysis seconds (wall and CPU), largest per-program
# peak, and the kernel's summed load seconds and verdict agreement.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bpfvet="${1:-$here/../build/bpfvet}"
shared="${2:-$here/../../shared}"
jobs="${3:-2}"
samples="$shared/corpus/ebpf-samples"
csv="$shared/corpus/kernel-verdicts.csv"
[ -x "$bpfvet" ] || { echo "no bpfvet at $bpfvet" >&2; exit 2; }
[ -d "$samples" ] || { echo "no $samples" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/time -f "%e %M" -o "$work/time" \
    "$bpfvet" corpus "$samples" --jobs "$jobs" --kernel --types-from "$csv" --out "$work/results.jsonl" \
    --plot "${PLOT:-$work/plot.svg}" \
    2> "$work/stderr"
cat "$work/stderr" >&2

python3 - "$work/results.jsonl" "$work/time" "$jobs" <<'PY'
import json, sys, collections
results, timing, jobs = sys.argv[1:4]
records = [json.loads(line) for line in open(results)]
wall, max_kib = open(timing).read().split()[-2:]
verdicts = collections.Counter(r["verdict"] for r in records)
kernel = collections.Counter(r.get("kernel_verdict", "none") for r in records)
analysis = sum(r.get("seconds") or 0 for r in records)
cpu = sum(r.get("cpu_seconds") or 0 for r in records)
peak = max((r.get("peak_kib") or 0 for r in records), default=0)
slowest = max(records, key=lambda r: r.get("seconds") or 0)
kernel_load = sum(r.get("kernel_load_seconds") or 0 for r in records)
both = [r for r in records if r["verdict"] in ("accept", "reject") and r.get("kernel_verdict") in ("accept", "reject")]
agree = sum(r["verdict"] == r["kernel_verdict"] for r in both)
print(f"programs {len(records)}: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())))
print(f"wall {float(wall):.2f} s with --jobs {jobs}; peak RSS of the largest process {int(max_kib) / 1024:.1f} MiB")
print(f"analysis total {analysis:.2f} s wall, {cpu:.2f} s CPU; slowest {slowest['file']} {slowest['program']} {slowest['seconds']:.3f} s; "
      f"largest per-program peak {peak / 1024:.1f} MiB")
print(f"kernel: " + ", ".join(f"{n} {v}" for v, n in sorted(kernel.items())) +
      f"; load total {kernel_load:.2f} s; agree with us on {agree} of {len(both)}")
PY
