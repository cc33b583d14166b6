// Entry point of the analyzer: decides whether the kernel-style safety rules
// hold for one linked program, by abstract interpretation over its CFG.
#pragma once

#include "analyzer/diagnostic.hpp"
#include "analyzer/facts.hpp"
#include "analyzer/trace.hpp"
#include "ir/program.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::ir {
class KernelBtf;
}

namespace bpfvet::analyzer {

enum class Refinement : uint8_t { None, Z3 };

inline constexpr uint64_t kNoWidening = ~uint64_t(0);

struct AnalysisOptions {
    // Stricter rules of an unprivileged loader: no pointer leaks, no pointer
    // comparisons, no reads of uninitialized stack by helpers.
    bool unprivileged = false;
    // Overrides the program's type (e.g. for sections whose name implies none).
    std::optional<ir::ProgramType> type;
    uint64_t max_steps = 1'000'000;  // abstract instruction steps, like the kernel's limit
    // A safety net against hangs, not a verdict: a busy machine must not flip
    // one, so it is far above what max_steps takes (1M steps: ~3 s idle).
    double max_seconds = 60.0;
    bool record_invariants = false;
    // Structured per-instruction facts for the JIT (analyzer/facts.hpp); kept only when accepted.
    bool record_facts = false;
    size_t max_errors = 16;
    // States kept apart per program point before joining (1: plain joins).
    size_t max_disjuncts = 32;
    // Refinement of alarms by Z3 path formulas (analyzer/refine.hpp): each
    // rejection is discharged (a re-run split at the blamed branches has no
    // error), or comes with an input that reaches the fault, or is undecided.
    Refinement refine = Refinement::None;
    unsigned z3_timeout_ms = 2000;  // per solver query
    // The verdict is the kernel's by default: an alarm that refinement proves
    // can never fail still rejects the program, as the kernel will (its status
    // says it is safe). With verdict_by_safety our own proof decides.
    bool verdict_by_safety = false;
    // Conditional jumps whose outcomes keep states apart (at most 32); set by
    // the refinement from Z3's unsat cores, or by hand for tests.
    std::vector<uint32_t> split_branches;
    // Passes through a loop analysed one by one (exact, like the kernel's
    // unrolling) before the loop head's state is widened to an invariant.
    uint64_t max_unrolled_passes = 64;  // kNoWidening: unroll every loop, as the kernel does
    // The kernel's BTF (ir/kernel_btf.hpp), which types the arguments of
    // fentry/fexit/fmod_ret/tp_btf/lsm programs. Without it their arguments
    // are numbers, and dereferencing one is refused saying so.
    std::shared_ptr<const ir::KernelBtf> kernel_btf;
    // States on demand at these instructions, path by path (analyzer/trace.hpp).
    TraceRequest trace;
};

struct AnalysisResult {
    bool accepted = false;
    std::vector<Diagnostic> errors;
    uint64_t steps = 0;
    // The kernel's complexity figures as the exploration counts them:
    // instructions processed (for a rejected program, up to the first error,
    // where the kernel stops; widened loops count the iterations the kernel
    // would walk), states stored for pruning (total and at most at once),
    // paths pruned.
    uint64_t processed_instructions = 0;
    uint64_t total_states = 0;
    uint64_t peak_states = 0;
    uint64_t pruned_paths = 0;
    double seconds = 0;
    ir::ProgramType type = ir::ProgramType::Unspecified;
    // With record_invariants: the state before each reached instruction.
    std::map<uint32_t, std::string> invariants;
    // With refinement: alarms of the plain analysis proven false (status Discharged).
    std::vector<Diagnostic> discharged;
    double refine_seconds = 0;  // time the refinement added
    // With record_facts, for an accepted program: what holds before each instruction.
    ProgramFacts facts;
    // With options.trace: each traced instruction's visits, in the order of options.trace.pcs.
    std::vector<TracedPoint> traces;
};

[[nodiscard]] AnalysisResult analyze_program(const ir::Object& object, const ir::Program& program,
                                             const AnalysisOptions& options = {});

}  // namespace bpfvet::analyzer
