#!/usr/bin/env bash
# Analysis time and peak memory of `bpfvet check` for every program of the
# shared corpus, beside the kernel's own verification time (verify_usec from
# kernel-verdicts.csv, measured on Linux 6.18 when the reference was made).
#
#   bench/analyze_corpus.sh [BPFVET] [SHARED_DIR]  > report.tsv
#
# Columns: file, section, program, type, kernel verdict, our verdict, our
# abstract steps, our wall seconds, our peak RSS (KiB), kernel processed
# instructions, kernel verify seconds. The last lines give totals and maxima.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bpfvet="${1:-$here/../build/bpfvet}"
shared="${2:-$here/../../shared}"
csv="$shared/corpus/kernel-verdicts.csv"
samples="$shared/corpus/ebpf-samples"
[ -x "$bpfvet" ] || { echo "no bpfvet at $bpfvet" >&2; exit 2; }
[ -f "$csv" ] || { echo "no $csv" >&2; exit 2; }

python3 - "$bpfvet" "$csv" "$samples" <<'PY'
import csv, json, subprocess, sys, tempfile, os
bpfvet, csv_path, samples = sys.argv[1:4]
print("file\tsection\tprogram\ttype\tkernel\tbpfvet\tsteps\tseconds\tpeak_kib\tkernel_insns\tkernel_seconds")
total_seconds = 0.0; total_kernel = 0.0; worst_seconds = 0.0; worst_kib = 0; count = 0
for row in csv.DictReader(open(csv_path)):
    if not row["section"] or row["verdict"] == "loader-error":
        continue
    cmd = [bpfvet, "check", os.path.join(samples, row["file"]), "--section", row["section"],
           "--program", row["program"], "--format", "json"]
    if row["prog_type"]:
        cmd += ["--type", row["prog_type"]]
    with tempfile.NamedTemporaryFile("r") as t:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name] + cmd, capture_output=True, text=True)
        wall, kib = t.read().split()[-2:]
    verdict, steps, seconds = "error", 0, float(wall)
    if p.returncode in (0, 1):
        item = json.loads(p.stdout)["programs"][0]
        verdict, steps, seconds = item["verdict"], item["steps"], item["seconds"]
    kernel_seconds = float(row["verify_usec"]) / 1e6 if row["verify_usec"] else float("nan")
    print(f"{row['file']}\t{row['section']}\t{row['program']}\t{row['prog_type']}\t{row['verdict']}\t{verdict}\t"
          f"{steps}\t{seconds:.4f}\t{kib}\t{row['processed_insns']}\t{kernel_seconds:.6f}")
    count += 1
    total_seconds += seconds
    worst_seconds = max(worst_seconds, seconds)
    worst_kib = max(worst_kib, int(kib))
    if kernel_seconds == kernel_seconds:
        total_kernel += kernel_seconds
print(f"# programs {count}; bpfvet analysis total {total_seconds:.2f} s, max {worst_seconds:.3f} s, "
      f"max peak RSS {worst_kib} KiB; kernel verification total {total_kernel:.3f} s")
PY
