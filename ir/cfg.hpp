// Control-flow graphs over a linked Program: one graph per function, basic
// blocks as vertices on Boost.Graph, a call graph between functions, and a weak
// topological order (Bourdoncle) per function for fixpoint iteration.
#pragma once

#include "ir/program.hpp"

#include <boost/graph/adjacency_list.hpp>

#include <cstdint>
#include <vector>

namespace bpfvet::ir {

// A maximal straight-line run of slots [first, last]; `last` is the slot of its
// final instruction (for an LDDW ending a block, its first slot). Blocks end at
// jumps, exits and local calls, so a call's callee runs "on" its CallReturn edge.
struct BasicBlock {
    uint32_t first = 0;
    uint32_t last = 0;
};

enum class EdgeKind : uint8_t {
    Fallthrough,  // the next instruction, or the not-taken side of a conditional jump
    Taken,        // the target of a jump (conditional taken side or goto)
    CallReturn,   // from a block ending in a local call to where the callee returns
};

using CfgGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                       BasicBlock, EdgeKind>;
using BlockId = CfgGraph::vertex_descriptor;

// Weak topological order: a sequence of blocks and components; a component's
// head comes first and `body` holds the rest of the loop, nested the same way.
struct WtoElement {
    BlockId block = 0;
    bool is_component = false;
    std::vector<WtoElement> body;
};

struct FunctionCfg {
    uint32_t function_index = 0;  // into Program::functions
    CfgGraph graph;
    BlockId entry = 0;
    std::vector<BlockId> exits;        // blocks ending in `exit`
    std::vector<WtoElement> wto;       // covers every block reachable from entry
    std::vector<BlockId> loop_heads;
    // Immediate dominator of each block (entry and unreachable blocks: themselves).
    std::vector<BlockId> immediate_dominator;
    std::vector<BlockId> unreachable_blocks;
};

struct CallSite {
    uint32_t pc = 0;
    uint32_t caller = 0;  // function indices
    uint32_t callee = 0;
};

struct ProgramCfg {
    std::vector<FunctionCfg> functions;  // parallel to Program::functions
    std::vector<CallSite> calls;         // the call graph's edges
    // For each slot: its function and block (block is -1 for an LDDW's second slot).
    std::vector<uint32_t> function_of;
    std::vector<int32_t> block_of;

    [[nodiscard]] bool dominates(uint32_t function, BlockId a, BlockId b) const;
};

// Builds the CFGs of a decoded, validated program. Fails (located) on a jump
// that leaves its function, or a recursive call chain.
[[nodiscard]] Expected<ProgramCfg> build_cfg(const Program& program);

}  // namespace bpfvet::ir
