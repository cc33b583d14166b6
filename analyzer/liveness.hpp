// Which registers each basic block may read before writing them (backward
// liveness per function). The fixpoint forgets dead registers where paths
// meet, so paths that differ only in values nobody reads again are merged
// without loss, as the kernel's liveness-based pruning does.
#pragma once

#include "ir/cfg.hpp"

#include <cstdint>
#include <vector>

namespace bpfvet::analyzer {

using RegisterSet = uint16_t;  // bit r for register r

// Registers instruction `insn` reads and writes (calls clobber r0..r5).
struct RegisterEffect {
    RegisterSet reads = 0;
    RegisterSet writes = 0;
};
[[nodiscard]] RegisterEffect register_effect(const ir::Instruction& insn);

// live_in[f][b]: registers live at the start of block b of function f.
[[nodiscard]] std::vector<std::vector<RegisterSet>> compute_liveness(const ir::Program& program,
                                                                    const ir::ProgramCfg& cfg);

// live_before[pc]: registers live right before instruction pc (0 for slots no block holds).
[[nodiscard]] std::vector<RegisterSet> live_before_instructions(const ir::Program& program, const ir::ProgramCfg& cfg,
                                                               const std::vector<std::vector<RegisterSet>>& live_in);

}  // namespace bpfvet::analyzer
