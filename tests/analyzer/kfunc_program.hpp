// Shared by the kfunc and iterator tests: small programs whose kfunc calls are
// typed by the running kernel's BTF (tests skip where it is unreadable).
#pragma once

#include "check_program.hpp"
#include "ir/kernel_btf.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::analyzer::test {

inline std::shared_ptr<const ir::KernelBtf> running_kernel_btf() {
    static const std::shared_ptr<const ir::KernelBtf> btf = []() -> std::shared_ptr<const ir::KernelBtf> {
        auto parsed = ir::KernelBtf::load(std::string(ir::DefaultKernelBtfPath));
        return parsed ? *parsed : nullptr;
    }();
    return btf;
}

// Assembles `text` as a tp_btf/task_newtask program (r1: u64 ctx[], ctx[0] a
// trusted struct task_struct *), naming the kfunc of each `call kfunc[0]` in order.
inline Checked check_kfuncs(std::string_view text, std::vector<std::string> names,
                            ir::ProgramType type = ir::ProgramType::Tracing,
                            std::string section = "tp_btf/task_newtask", std::string license = "GPL",
                            bool with_btf = true) {
    AnalysisOptions options;
    if (with_btf) options.kernel_btf = running_kernel_btf();
    return check(text, type, {}, options, license, [&](ir::Program& program) {
        program.section = section;
        size_t next = 0;
        for (uint32_t pc = 0; pc < program.instructions.size(); ++pc)
            if (program.instructions[pc].is_kfunc_call() && next < names.size())
                program.kfunc_calls.push_back({pc, names[next++]});
    });
}

// A fixture that skips its tests where the running kernel's BTF is unreadable.
class NeedsKernelBtf : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_kernel_btf()) GTEST_SKIP() << ir::DefaultKernelBtfPath << " is unreadable";
    }
};

}  // namespace bpfvet::analyzer::test
