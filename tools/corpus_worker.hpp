// The protocol between `bpfvet corpus` and its worker processes.
//
// The parent runs `bpfvet corpus-worker` (a hidden subcommand of the same
// binary, through /proc/self/exe), writes one job as JSON on its stdin and
// closes it; the worker answers on stdout with JSON lines, flushed one at a
// time so that a worker which dies loses only the program it was busy with:
//
//   list job    {"mode": "list", "file": "...", "relative": "..."}
//   answer      {"programs": [{"section": "2/7", "program": "tail_x", "type": "sched_cls", "insn_count": 812}, ...]}
//               or {"error": "cilium/x.o: section ...: message"} when the object does not load
//
//   analyze job {"mode": "analyze", "file": "...", "relative": "...", "version": "...",
//                "programs": [{"section": "...", "program": "...", "type": ""}, ...],
//                "options": {"unprivileged": false, "max_steps": 1000000, "max_disjuncts": 32,
//                            "budget_seconds": 10, "budget_mb": 2048, "kernel": false}}
//   answer      {"loaded": true} once the object is loaded (the parent's clock for
//               the first program starts there), then one CorpusRecord line per
//               program, in the job's order
//
// An empty "type" means the one the section name implies. The parent enforces
// the time budget (it kills a worker silent for too long); the worker sets its
// own address-space limit (RLIMIT_AS) from budget_mb.
//
// Test hooks (documented in docs/corpus.md): with BPFVET_CORPUS_TEST_CRASH=<program>
// the worker kills itself with SIGKILL when it reaches that program, and with
// BPFVET_CORPUS_TEST_HANG=<program> it sleeps instead of analysing it.
#pragma once

#include <CLI/CLI.hpp>

#include <string_view>

namespace bpfvet::tools::corpus {

inline constexpr std::string_view WorkerCommand = "corpus-worker";
inline constexpr const char* CrashHookVariable = "BPFVET_CORPUS_TEST_CRASH";
inline constexpr const char* HangHookVariable = "BPFVET_CORPUS_TEST_HANG";

}  // namespace bpfvet::tools::corpus
