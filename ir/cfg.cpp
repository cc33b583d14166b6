#include "ir/cfg.hpp"

#include <boost/graph/dominator_tree.hpp>
#include <boost/property_map/property_map.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace bpfvet::ir {
namespace {

// Bourdoncle, "Efficient chaotic iteration strategies with widenings" (1993):
// the recursive strategy's hierarchical order. dfn 0 = unvisited, Done = finished.
class WtoBuilder {
public:
    explicit WtoBuilder(const CfgGraph& graph) : graph_(graph), dfn_(boost::num_vertices(graph), 0) {}

    std::vector<WtoElement> build(BlockId entry, std::vector<BlockId>& loop_heads) {
        std::vector<WtoElement> partition;
        visit(entry, partition);
        std::ranges::reverse(partition);
        loop_heads = std::move(loop_heads_);
        return partition;
    }
    [[nodiscard]] bool visited(BlockId block) const { return dfn_[block] != 0; }

private:
    static constexpr uint32_t Done = std::numeric_limits<uint32_t>::max();

    // Appends in reverse order (the caller reverses), which keeps this O(n).
    uint32_t visit(BlockId vertex, std::vector<WtoElement>& partition) {
        stack_.push_back(vertex);
        dfn_[vertex] = ++counter_;
        uint32_t head = dfn_[vertex];
        bool loop = false;
        for (auto edge : boost::make_iterator_range(boost::out_edges(vertex, graph_))) {
            BlockId successor = boost::target(edge, graph_);
            uint32_t min = dfn_[successor] == 0 ? visit(successor, partition) : dfn_[successor];
            if (min <= head) {
                head = min;
                loop = true;
            }
        }
        if (head == dfn_[vertex]) {
            dfn_[vertex] = Done;
            BlockId element = stack_.back();
            stack_.pop_back();
            if (loop) {
                while (element != vertex) {
                    dfn_[element] = 0;
                    element = stack_.back();
                    stack_.pop_back();
                }
                partition.push_back(component(vertex));
            } else {
                partition.push_back(WtoElement{vertex, false, {}});
            }
        }
        return head;
    }

    WtoElement component(BlockId head) {
        loop_heads_.push_back(head);
        std::vector<WtoElement> body;
        for (auto edge : boost::make_iterator_range(boost::out_edges(head, graph_))) {
            BlockId successor = boost::target(edge, graph_);
            if (dfn_[successor] == 0) visit(successor, body);
        }
        std::ranges::reverse(body);
        return WtoElement{head, true, std::move(body)};
    }

    const CfgGraph& graph_;
    std::vector<uint32_t> dfn_;
    std::vector<BlockId> stack_;
    std::vector<BlockId> loop_heads_;
    uint32_t counter_ = 0;
};

bool ends_block(const Instruction& insn) { return insn.is_jmp() && !insn.is_helper_call() && !insn.is_kfunc_call(); }

Expected<FunctionCfg> build_function(const Program& program, uint32_t index, ProgramCfg& cfg) {
    const Function& function = program.functions[index];
    const auto& code = program.instructions;
    auto fail = [&](size_t pc, std::string message) {
        return std::unexpected(LoadError{"", program.section, pc, fmt::format("function '{}': {}", function.name, message)});
    };
    // Leaders: the entry, every jump target, and whatever follows a block end.
    std::vector<bool> leader(function.end - function.start, false);
    leader[0] = true;
    for (uint32_t pc = function.start; pc < function.end; pc += code[pc].is_lddw() ? 2 : 1) {
        const Instruction& insn = code[pc];
        if (!ends_block(insn)) continue;
        if (pc + 1 < function.end) leader[pc + 1 - function.start] = true;
        if (insn.is_jmp() && !insn.is_call() && !insn.is_exit()) {
            int64_t target = int64_t(pc) + 1 + insn.jump_offset();
            if (target < function.start || target >= function.end)
                return fail(pc, fmt::format("jump to {} leaves the function (slots {}..{})", target, function.start, function.end - 1));
            leader[size_t(target) - function.start] = true;
        }
    }
    FunctionCfg result;
    result.function_index = index;
    for (uint32_t pc = function.start; pc < function.end;) {
        BasicBlock block{pc, pc};
        uint32_t next = pc;
        while (true) {
            block.last = next;
            next += code[next].is_lddw() ? 2 : 1;
            if (next >= function.end || leader[next - function.start] || ends_block(code[block.last])) break;
        }
        BlockId id = boost::add_vertex(block, result.graph);
        for (uint32_t s = block.first; s < next; ++s) {
            cfg.block_of[s] = s > block.first && code[s - 1].is_lddw() && s - 1 >= block.first ? -1 : int32_t(id);
            cfg.function_of[s] = index;
        }
        pc = next;
    }
    // Edges, using the block that starts at each leader.
    std::vector<BlockId> block_at(function.end - function.start, boost::graph_traits<CfgGraph>::null_vertex());
    for (auto v : boost::make_iterator_range(boost::vertices(result.graph))) block_at[result.graph[v].first - function.start] = v;
    for (auto v : boost::make_iterator_range(boost::vertices(result.graph))) {
        const BasicBlock block = result.graph[v];
        const Instruction& last = code[block.last];
        const uint32_t after = block.last + (last.is_lddw() ? 2 : 1);
        auto add = [&](uint32_t target, EdgeKind kind) { boost::add_edge(v, block_at[target - function.start], kind, result.graph); };
        if (last.is_exit()) {
            result.exits.push_back(v);
            continue;
        }
        if (last.is_jmp() && !last.is_call()) {
            add(uint32_t(int64_t(block.last) + 1 + last.jump_offset()), EdgeKind::Taken);
            if (last.is_goto()) continue;
        }
        if (after >= function.end) continue;  // the validator already refused falling off the end
        add(after, last.is_local_call() ? EdgeKind::CallReturn : EdgeKind::Fallthrough);
    }
    result.entry = block_at[0];
    WtoBuilder wto(result.graph);
    result.wto = wto.build(result.entry, result.loop_heads);
    const size_t blocks = boost::num_vertices(result.graph);
    for (BlockId v = 0; v < blocks; ++v)
        if (!wto.visited(v)) result.unreachable_blocks.push_back(v);

    // Immediate dominators (Lengauer-Tarjan); unreachable blocks dominate only themselves.
    std::vector<BlockId> dominator(blocks, boost::graph_traits<CfgGraph>::null_vertex());
    auto index_map = boost::get(boost::vertex_index, result.graph);
    boost::lengauer_tarjan_dominator_tree(result.graph, result.entry,
                                          boost::make_iterator_property_map(dominator.begin(), index_map));
    result.immediate_dominator.resize(blocks);
    for (BlockId v = 0; v < blocks; ++v)
        result.immediate_dominator[v] = dominator[v] == boost::graph_traits<CfgGraph>::null_vertex() ? v : dominator[v];
    return result;
}

// Refuses recursion: eBPF functions may not call themselves, directly or not.
std::optional<std::string> find_recursion(const Program& program, const std::vector<CallSite>& calls) {
    const size_t n = program.functions.size();
    std::vector<std::vector<uint32_t>> callees(n);
    for (const auto& c : calls) callees[c.caller].push_back(c.callee);
    std::vector<int> state(n, 0);  // 0 new, 1 on path, 2 done
    std::vector<uint32_t> path;
    std::optional<std::string> found;
    auto dfs = [&](auto&& self, uint32_t f) -> void {
        if (found) return;
        state[f] = 1;
        path.push_back(f);
        for (uint32_t g : callees[f]) {
            if (state[g] == 1) {
                std::string chain;
                auto start = std::ranges::find(path, g);
                for (auto it = start; it != path.end(); ++it) chain += program.functions[*it].name + " -> ";
                found = chain + program.functions[g].name;
                return;
            }
            if (state[g] == 0) self(self, g);
        }
        path.pop_back();
        state[f] = 2;
    };
    for (uint32_t f = 0; f < n && !found; ++f)
        if (state[f] == 0) dfs(dfs, f);
    return found;
}

}  // namespace

bool ProgramCfg::dominates(uint32_t function, BlockId a, BlockId b) const {
    const auto& idom = functions[function].immediate_dominator;
    for (BlockId v = b;; v = idom[v]) {
        if (v == a) return true;
        if (idom[v] == v) return false;
    }
}

Expected<ProgramCfg> build_cfg(const Program& program) {
    ProgramCfg cfg;
    const size_t n = program.instructions.size();
    cfg.function_of.assign(n, 0);
    cfg.block_of.assign(n, -1);
    for (uint32_t f = 0; f < program.functions.size(); ++f) {
        auto function = build_function(program, f, cfg);
        if (!function) return std::unexpected(function.error());
        cfg.functions.push_back(std::move(*function));
    }
    for (uint32_t pc = 0; pc < n; ++pc) {
        const Instruction& insn = program.instructions[pc];
        if (!insn.is_local_call() || std::ranges::any_of(program.unresolved_calls, [&](const auto& u) { return u.pc == pc; }))
            continue;
        const uint32_t target = uint32_t(int64_t(pc) + 1 + insn.imm);
        const uint32_t callee = cfg.function_of[target];
        cfg.calls.push_back({pc, cfg.function_of[pc], callee});
    }
    if (auto chain = find_recursion(program, cfg.calls))
        return std::unexpected(LoadError{"", program.section, std::nullopt, "recursive calls are not allowed: " + *chain});
    return cfg;
}

}  // namespace bpfvet::ir
