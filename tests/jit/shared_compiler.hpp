// One JIT compiler per test binary, created on first use: compiling is what
// the JIT tests exercise, and its cache must persist across a binary's tests.
#pragma once

#include "jit/compiler.hpp"

#include <stdexcept>

namespace bpfvet::jit::test {

inline JitCompiler& compiler() {
    static auto made = JitCompiler::create({});
    if (!made) throw std::runtime_error(made.error());
    return **made;
}

}  // namespace bpfvet::jit::test
