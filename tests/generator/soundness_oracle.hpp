// The soundness oracle over generated programs: a program the analyzer
// accepts must run in the checked interpreter, on random and edge-case inputs,
// without a fault (memory outside every region, the instruction budget
// running out, ...), and every instruction a run executes must have been
// reached by the analysis with a state (an instruction it thought dead, or
// never looked at, is a hole: issue 15's irreducible loop). With a JIT
// compiler, every run is repeated on the JIT, which must agree on r0, the
// packet and the maps.
//
// A program that breaks a property is minimized (delta debugging over its
// lines) to one that still breaks it, for a regression test.
#pragma once

#include "program_generator.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace bpfvet::jit {
class JitCompiler;
}

namespace bpfvet::generator {

struct OracleOptions {
    size_t inputs = 8;                          // runs per accepted program
    uint64_t instruction_budget = 1'000'000;     // per run: the kernel's bound on what it verifies
    jit::JitCompiler* jit = nullptr;             // with one: the JIT differential too
};

enum class Breach : uint8_t {
    None,
    Fault,          // the checked interpreter stopped an accepted program
    Uncovered,      // a run executed an instruction the analysis never reached
    JitDifference,  // the JIT and the interpreter disagree
};
[[nodiscard]] const char* breach_name(Breach breach);  // "fault", "uncovered", ...

struct OracleResult {
    bool assembled = false;
    bool accepted = false;
    std::string rejection;  // the analyzer's first error, when rejected
    size_t executions = 0;  // interpreter runs (and as many JIT runs with a compiler)
    Breach breach = Breach::None;
    std::string detail;     // what broke, with the input
};

[[nodiscard]] OracleResult run_oracle(const GeneratedProgram& program, const OracleOptions& options = {});

// The smallest program found (by deleting lines, then single lines until
// none can go) for which `still_fails` holds; `program` itself must satisfy it.
[[nodiscard]] GeneratedProgram minimize(GeneratedProgram program,
                                        const std::function<bool(const GeneratedProgram&)>& still_fails);

}  // namespace bpfvet::generator
