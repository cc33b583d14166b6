#!/usr/bin/env bash
# What Z3 refinement (`bpfvet check --refine z3`) changes on the shared corpus.
#
#   bench/refine_corpus.sh [BPFVET] [SHARED_DIR] [Z3_TIMEOUT_MS]  > report.tsv
#
# For every program of kernel-verdicts.csv that our plain analysis rejects:
# the verdict with refinement, the status of each error (confirmed with a
# counterexample that replays, discharged, undecided) and the time the
# refinement added. The last lines give the figures docs/analyzer.md quotes:
# kernel-accepted programs we reject plainly and accept with refinement, and
# rejections whose first error gets a confirmed counterexample.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bpfvet="${1:-$here/../build/bpfvet}"
shared="${2:-$here/../../shared}"
timeout_ms="${3:-2000}"
csv="$shared/corpus/kernel-verdicts.csv"
samples="$shared/corpus/ebpf-samples"
[ -x "$bpfvet" ] || { echo "no bpfvet at $bpfvet" >&2; exit 2; }
[ -f "$csv" ] || { echo "no $csv" >&2; exit 2; }

python3 - "$bpfvet" "$csv" "$samples" "$timeout_ms" <<'PY'
import csv, json, os, subprocess, sys, time
bpfvet, csv_path, samples, timeout_ms = sys.argv[1:5]

def check(row, extra):
    cmd = [bpfvet, "check", os.path.join(samples, row["file"]), "--section", row["section"],
           "--program", row["program"], "--format", "json"] + extra
    if row["prog_type"]:
        cmd += ["--type", row["prog_type"]]
    started = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - started
    if p.returncode not in (0, 1):
        return None, wall
    return json.loads(p.stdout)["programs"][0], wall

print("file\tsection\tprogram\tkernel\tplain\trefined\tstatuses\tplain_s\trefined_s")
plain_rejects = kernel_accept_plain_reject = now_accepted = confirmed_programs = 0
statuses_total = {}
added = 0.0
for row in csv.DictReader(open(csv_path)):
    if not row["section"] or row["verdict"] == "loader-error":
        continue
    plain, plain_wall = check(row, [])
    if plain is None or plain["verdict"] == "accept":
        continue
    plain_rejects += 1
    refined, refined_wall = check(row, ["--refine", "z3", "--z3-timeout", timeout_ms])
    if refined is None:
        print(f"{row['file']}\t{row['section']}\t{row['program']}\t{row['verdict']}\treject\terror\t-\t{plain_wall:.3f}\t{refined_wall:.3f}")
        continue
    statuses = [e.get("status", "none") for e in refined["errors"]] + \
               [e.get("status", "discharged") for e in refined.get("discharged", [])]
    for s in statuses:
        statuses_total[s] = statuses_total.get(s, 0) + 1
    if row["verdict"] == "accept":
        kernel_accept_plain_reject += 1
        if refined["verdict"] == "accept":
            now_accepted += 1
    if any(e.get("status") == "confirmed" for e in refined["errors"]):
        confirmed_programs += 1
    added += max(0.0, refined_wall - plain_wall)
    print(f"{row['file']}\t{row['section']}\t{row['program']}\t{row['verdict']}\treject\t{refined['verdict']}\t"
          f"{','.join(statuses)}\t{plain_wall:.3f}\t{refined_wall:.3f}")
print(f"# plain rejections {plain_rejects}; kernel-accepted among them {kernel_accept_plain_reject}, "
      f"accepted with refinement {now_accepted}; programs with a confirmed counterexample {confirmed_programs}; "
      f"error statuses {statuses_total}; time refinement added {added:.2f} s in all "
      f"({added / max(plain_rejects, 1):.3f} s per rejected program)")
PY
