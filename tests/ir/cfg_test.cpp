#include "ir/cfg.hpp"
#include "ir/elf_loader.hpp"
#include "test_paths.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

namespace bpfvet::ir {
namespace {

Instruction insn(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t offset = 0, int32_t imm = 0) {
    return {opcode, dst, src, offset, imm};
}

Program program_of(std::vector<Instruction> code, std::vector<Function> functions = {}) {
    Program p;
    p.name = "test";
    p.instructions = std::move(code);
    p.functions = functions.empty() ? std::vector<Function>{{"test", 0, uint32_t(p.instructions.size())}} : functions;
    return p;
}

void collect(const std::vector<WtoElement>& elements, std::vector<BlockId>& out) {
    for (const auto& e : elements) {
        out.push_back(e.block);
        collect(e.body, out);
    }
}

// The invariants every CFG must satisfy.
void check_invariants(const Program& program, const ProgramCfg& cfg) {
    // Every instruction slot is in exactly one block of its function (LDDW second slots ride with the first).
    for (const auto& function_cfg : cfg.functions) {
        const auto& function = program.functions[function_cfg.function_index];
        std::vector<int> covered(function.end - function.start, 0);
        for (auto v : boost::make_iterator_range(boost::vertices(function_cfg.graph))) {
            const auto& b = function_cfg.graph[v];
            uint32_t end = b.last + (program.instructions[b.last].is_lddw() ? 2 : 1);
            for (uint32_t s = b.first; s < end; ++s) ++covered[s - function.start];
        }
        for (size_t i = 0; i < covered.size(); ++i) ASSERT_EQ(covered[i], 1) << program.name << " slot " << function.start + i;
        // The WTO covers every reachable block exactly once, and nothing else.
        std::vector<BlockId> order;
        collect(function_cfg.wto, order);
        std::set<BlockId> unique(order.begin(), order.end());
        ASSERT_EQ(unique.size(), order.size());
        ASSERT_EQ(order.size() + function_cfg.unreachable_blocks.size(), boost::num_vertices(function_cfg.graph));
        ASSERT_EQ(order.front(), function_cfg.entry);
        // The entry dominates every reachable block.
        for (BlockId v : order) ASSERT_TRUE(cfg.dominates(function_cfg.function_index, function_cfg.entry, v));
    }
}

TEST(Cfg, SplitsBlocksAndFindsLoopHeads) {
    // 0: r0 = 0; 1: r0 += 1; 2: if r0 < 10 goto -2 (to 1); 3: exit
    auto program = program_of({insn(0xb7), insn(0x07, 0, 0, 0, 1), insn(0xa5, 0, 0, -2, 10), insn(0x95)});
    auto cfg = build_cfg(program);
    ASSERT_TRUE(cfg) << cfg.error().to_string();
    const auto& f = cfg->functions[0];
    EXPECT_EQ(boost::num_vertices(f.graph), 3u);
    ASSERT_EQ(f.loop_heads.size(), 1u);
    EXPECT_EQ(f.graph[f.loop_heads[0]].first, 1u);
    ASSERT_EQ(f.wto.size(), 3u);
    EXPECT_TRUE(f.wto[1].is_component);
    EXPECT_EQ(f.exits.size(), 1u);
    check_invariants(program, *cfg);
}

TEST(Cfg, ReportsUnreachableBlocksAndDominators) {
    // 0: goto +1; 1: r0 = 1 (unreachable); 2: r0 = 0; 3: exit
    auto program = program_of({insn(0x05, 0, 0, 1), insn(0xb7, 0, 0, 0, 1), insn(0xb7), insn(0x95)});
    auto cfg = build_cfg(program);
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->functions[0].unreachable_blocks.size(), 1u);
    EXPECT_EQ(cfg->functions[0].graph[cfg->functions[0].unreachable_blocks[0]].first, 1u);
    check_invariants(program, *cfg);
}

TEST(Cfg, BuildsCallGraphAndRefusesRecursion) {
    // main: call sub; exit.  sub: r0 = 0; exit.
    auto program = program_of({insn(0x85, 0, 1, 0, 1), insn(0x95), insn(0xb7), insn(0x95)},
                              {{"main", 0, 2}, {"sub", 2, 4}});
    auto cfg = build_cfg(program);
    ASSERT_TRUE(cfg);
    ASSERT_EQ(cfg->calls.size(), 1u);
    EXPECT_EQ(cfg->calls[0].callee, 1u);
    auto edge = *boost::out_edges(cfg->functions[0].entry, cfg->functions[0].graph).first;
    EXPECT_EQ(cfg->functions[0].graph[edge], EdgeKind::CallReturn);
    // sub calls itself.
    auto recursive = program_of({insn(0x85, 0, 1, 0, 1), insn(0x95), insn(0x85, 0, 1, 0, -1), insn(0x95)},
                                {{"main", 0, 2}, {"sub", 2, 4}});
    auto refused = build_cfg(recursive);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("recursive"), std::string::npos);
    // A jump out of its function.
    auto escaping = program_of({insn(0x05, 0, 0, 1), insn(0x95), insn(0xb7), insn(0x95)}, {{"main", 0, 2}, {"sub", 2, 4}});
    EXPECT_FALSE(build_cfg(escaping));
}

TEST(Cfg, InvariantsHoldOnWholeSharedCorpus) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    size_t programs = 0, with_loops = 0;
    for (const auto& path : test::sample_objects()) {
        auto object = load_object(path.string());
        ASSERT_TRUE(object) << object.error().to_string();
        for (const auto& program : object->programs) {
            auto cfg = build_cfg(program);
            ASSERT_TRUE(cfg) << path << " " << program.name << ": " << cfg.error().to_string();
            check_invariants(program, *cfg);
            ++programs;
            bool loop = false;
            for (const auto& f : cfg->functions) loop |= !f.loop_heads.empty();
            with_loops += loop;
            // (infinite_loop.o has none: clang folded its loop into a closed form.)
            if (path.filename() == "bounded_loop.o")
                EXPECT_TRUE(loop) << path << " has a loop";
        }
    }
    std::printf("CFGs of %zu programs, %zu with loops\n", programs, with_loops);
}

}  // namespace
}  // namespace bpfvet::ir
