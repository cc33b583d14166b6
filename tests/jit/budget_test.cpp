// Native code the verifier did not prove to terminate (compiled without
// facts) has the interpreter's budget: a loop without end stops with
// BudgetExhausted, a recursion without end with CallDepthExceeded, never a
// hang or a native stack overflow; and code with facts has no counter at all.
#include "shared_compiler.hpp"
#include "jit/compiler.hpp"
#include "jit/jit_runner.hpp"
#include "jit/lowering.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace bpfvet::jit::test {
namespace {

using namespace runtime;
using runtime::test::assemble_or_die;
using runtime::test::load_or_die;
using runtime::test::make_object;

struct Fixture {
    std::unique_ptr<LoadedObject> object;
    const LoadedProgram* program = nullptr;
};

Fixture load(std::string_view text) {
    Fixture f;
    f.object = load_or_die(make_object(assemble_or_die(text, {}), ir::ProgramType::Unspecified, {}));
    auto program = f.object->program("test");
    if (!program) throw std::runtime_error(program.error().to_string());
    f.program = *program;
    return f;
}

TEST(JitBudget, LoopWithoutEndStops) {
    auto f = load("r0 = 0\nl: r0 += 1\ngoto l\nexit");
    JitRunner runner(*f.object, *f.program, compiler());
    auto outcome = runner.run();
    ASSERT_FALSE(outcome.result) << "returned " << outcome.result->return_value;
    EXPECT_EQ(outcome.result.error().kind, FaultKind::BudgetExhausted) << outcome.result.error().to_string();
    // The budget is the run's, again on the next run.
    auto again = runner.run();
    ASSERT_FALSE(again.result);
    EXPECT_EQ(again.result.error().kind, FaultKind::BudgetExhausted);
}

TEST(JitBudget, ConditionalBackEdgesCountAndBoundedLoopsFinish) {
    auto f = load("r0 = 0\nl: r0 += 1\nif r0 < 1000 goto l\nexit");
    JitRunner runner(*f.object, *f.program, compiler());
    auto outcome = runner.run();
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 1000u);
    auto endless = load("r0 = 0\nl: r0 += 1\nif r0 != 0 goto l\nexit");
    JitRunner endless_runner(*endless.object, *endless.program, compiler());
    auto stopped = endless_runner.run();
    ASSERT_FALSE(stopped.result);
    EXPECT_EQ(stopped.result.error().kind, FaultKind::BudgetExhausted);
}

TEST(JitBudget, RecursionWithoutEndStops) {
    auto f = load("call f\nexit\nf: call f\nexit");
    JitRunner runner(*f.object, *f.program, compiler());
    auto outcome = runner.run();
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().kind, FaultKind::CallDepthExceeded) << outcome.result.error().to_string();
}

TEST(JitBudget, OnlyCodeWithoutFactsCounts) {
    auto f = load("r0 = 0\nl: r0 += 1\nif r0 < 10 goto l\nexit");
    LoweringOptions counting;
    counting.count_back_edges = true;
    auto counted = lowered_ir_text(*f.program, counting, 0);
    ASSERT_TRUE(counted) << counted.error();
    EXPECT_NE(counted->find(BudgetSymbol), std::string::npos);
    auto plain = lowered_ir_text(*f.program, LoweringOptions{}, 0);
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_EQ(plain->find(BudgetSymbol), std::string::npos);
}

}  // namespace
}  // namespace bpfvet::jit::test
