// The causal story of an error (analyzer/causal_story.hpp): for each cause of
// the closed set, a small program whose story names it, with the instructions
// that are its evidence and the fix for it; the failing path recorded with
// the error; one error per root cause.
#include "analyzer/causal_story.hpp"
#include "check_program.hpp"
#include "ir/elf_loader.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace bpfvet::analyzer {
namespace {

using namespace test;

constexpr auto Tc = ir::ProgramType::SchedCls;

const Diagnostic& only_error(const Checked& checked) {
    EXPECT_EQ(checked.result.errors.size(), 1u) << checked.codes();
    return checked.result.errors.front();
}

bool has_step(const std::vector<StoryStep>& steps, uint32_t pc) {
    return std::ranges::any_of(steps, [&](const StoryStep& s) { return s.pc == pc; });
}

// The packet byte at offset 14 loaded twice: r8 is compared, r9 is used.
constexpr const char* BoundOnAnotherLoad = R"(
        r6 = *(u32 *)(r1 + 0)
        r7 = *(u32 *)(r1 + 4)
        r1 = r6
        r1 += 15
        if r1 > r7 goto out
        r8 = *(u8 *)(r6 + 14)
        r9 = *(u8 *)(r6 + 14)
        if r8 > 7 goto out
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r9 <<= 3
        r0 += r9
        r1 = *(u64 *)(r0 + 0)
    out:
        r0 = 2
        exit
)";

TEST(CausalStory, BoundCheckedOnAnotherLoadOfTheSameBytes) {
    auto checked = check(BoundOnAnotherLoad, Xdp, {map_of("values", 64)});
    const Diagnostic& error = only_error(checked);
    ASSERT_TRUE(error.story) << checked.codes();
    const CausalStory& story = *error.story;
    EXPECT_EQ(story.cause, LostFactCause::CheckedOnCopy) << story.because;
    EXPECT_TRUE(has_step(story.evidence, 7)) << "the comparison of r8";
    EXPECT_TRUE(has_step(story.evidence, 6)) << "the second load, into r9";
    EXPECT_NE(story.because.find("r8"), std::string::npos) << story.because;
    EXPECT_NE(story.hint.find("r9"), std::string::npos) << story.hint;
    // The origin chain follows r0 back: the lookup, the offset r9 and its load.
    EXPECT_TRUE(has_step(story.origin, 14)) << "the call";
    EXPECT_TRUE(has_step(story.origin, 6) && has_step(story.origin, 16) && has_step(story.origin, 17));
}

TEST(CausalStory, FailingPathRunsFromTheEntryToTheError) {
    auto checked = check(BoundOnAnotherLoad, Xdp, {map_of("values", 64)});
    const Diagnostic& error = only_error(checked);
    ASSERT_FALSE(error.path.empty());
    EXPECT_EQ(error.path.front().pc, 0u);
    EXPECT_EQ(error.path.back().pc, error.pc);
    // Through the fallthrough of each check: 0..14, the lddw's second slot skipped.
    std::vector<uint32_t> pcs;
    for (const auto& step : error.path) pcs.push_back(step.pc);
    EXPECT_EQ(pcs, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18}));
}

TEST(CausalStory, BoundLostWhenPartOfTheSpilledSlotIsOverwritten) {
    auto checked = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r7 = *(u32 *)(r1 + 4)
        r1 = r6
        r1 += 16
        if r1 > r7 goto out
        r8 = *(u8 *)(r6 + 14)
        if r8 > 7 goto out
        *(u64 *)(r10 - 16) = r8
        r2 = *(u8 *)(r6 + 15)
        *(u8 *)(r10 - 16) = r2
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r9 = *(u64 *)(r10 - 16)
        r9 &= 255
        r9 <<= 3
        r0 += r9
        r1 = *(u64 *)(r0 + 0)
    out:
        r0 = 2
        exit
    )", Xdp, {map_of("values", 64)});
    const Diagnostic& error = only_error(checked);
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::LostBySpill) << error.story->because;
    EXPECT_TRUE(has_step(error.story->evidence, 6)) << "the check";
    EXPECT_TRUE(has_step(error.story->evidence, 7)) << "the spill";
    EXPECT_TRUE(has_step(error.story->evidence, 18)) << "the reload";
    EXPECT_NE(error.story->because.find("overwritten at instruction 9"), std::string::npos) << error.story->because;
    EXPECT_NE(error.story->hint.find("barrier_var"), std::string::npos);
}

TEST(CausalStory, BoundLostThroughANarrowSpill) {
    // The bounded index is spilled as 4 bytes and read back as 8.
    auto checked = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r7 = *(u32 *)(r1 + 4)
        r1 = r6
        r1 += 16
        if r1 > r7 goto out
        r8 = *(u8 *)(r6 + 14)
        if r8 > 7 goto out
        r1 = 0
        *(u64 *)(r10 - 16) = r1
        *(u32 *)(r10 - 16) = r8
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r9 = *(u64 *)(r10 - 16)
        r9 <<= 3
        r0 += r9
        r1 = *(u64 *)(r0 + 0)
    out:
        r0 = 2
        exit
    )", Xdp, {map_of("values", 64)});
    ASSERT_FALSE(checked.result.accepted) << "a 4-byte spill read back as 8 bytes gives an unknown number";
    const Diagnostic& error = only_error(checked);
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::LostBySpill) << error.story->because;
    EXPECT_TRUE(has_step(error.story->evidence, 9)) << "the 4-byte spill";
    EXPECT_NE(error.story->because.find("stored only 4 bytes"), std::string::npos) << error.story->because;
}

std::string with_packet(std::string_view body) {
    return fmt::format(R"(
        r6 = r1
        r7 = *(u32 *)(r6 + 76)
        r3 = *(u32 *)(r6 + 80)
        r4 = r7
        r4 += 8
        if r4 > r3 goto out
        {}
    out:
        r0 = 0
        exit
    )", body);
}

TEST(CausalStory, PacketPointerInvalidatedByAHelperCall) {
    auto checked = check(with_packet("r1 = r6\n r2 = 0\n r3 = 0\n call bpf_skb_change_proto\n r0 = *(u8 *)(r7 + 0)"), Tc);
    ASSERT_FALSE(checked.result.errors.empty()) << checked.codes();
    const Diagnostic& error = checked.result.errors.front();
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::PacketInvalidatedByHelper) << checked.codes() << error.story->because;
    EXPECT_TRUE(has_step(error.story->evidence, 9)) << "the call";
    EXPECT_NE(error.story->because.find("bpf_skb_change_proto"), std::string::npos);
    EXPECT_NE(error.story->hint.find("recompute the pointer after bpf_skb_change_proto"), std::string::npos);
    // A helper that keeps the packet tells no such story.
    auto kept = check(with_packet("r1 = r6\n r2 = 0\n call bpf_skb_change_type\n r0 = *(u8 *)(r7 + 0)"), Tc);
    EXPECT_TRUE(kept.result.accepted) << kept.codes();
}

TEST(CausalStory, IndexNeverCompared) {
    auto checked = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r7 = *(u32 *)(r1 + 4)
        r1 = r6
        r1 += 1
        if r1 > r7 goto out
        r8 = *(u8 *)(r6 + 0)
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r0 += r8
        r1 = *(u8 *)(r0 + 0)
    out:
        r0 = 2
        exit
    )", Xdp, {map_of("values", 64)});
    const Diagnostic& error = only_error(checked);
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::NeverCompared) << error.story->because;
    EXPECT_TRUE(has_step(error.story->evidence, 5)) << "the load that made r8";
    EXPECT_NE(error.story->because.find("r8"), std::string::npos);
    EXPECT_NE(error.story->hint.find("bound r8"), std::string::npos) << error.story->hint;
}

TEST(CausalStory, IndexComparedWithTooLooseABoundHasNoNamedCause) {
    // The bound exists but is too loose: none of the causes applies, the story says only the origin.
    auto checked = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r7 = *(u32 *)(r1 + 4)
        r1 = r6
        r1 += 1
        if r1 > r7 goto out
        r8 = *(u8 *)(r6 + 0)
        if r8 > 100 goto out
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r0 += r8
        r1 = *(u8 *)(r0 + 0)
    out:
        r0 = 2
        exit
    )", Xdp, {map_of("values", 64)});
    const Diagnostic& error = only_error(checked);
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::Unknown) << error.story->because;
    EXPECT_TRUE(error.story->because.empty() && error.story->hint.empty());
    EXPECT_TRUE(has_step(error.story->origin, 5) && has_step(error.story->origin, 6)) << "the load and its check";
}

TEST(CausalStory, LookupResultNotTested) {
    auto checked = check(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        r1 = *(u64 *)(r0 + 0)
        r0 = 0
        exit
    )", Xdp, {map_of("values", 64, ir::MapType::Hash)});
    const Diagnostic& error = only_error(checked);
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::NullNotTested) << error.story->because;
    EXPECT_TRUE(has_step(error.story->evidence, 6));
    EXPECT_NE(error.story->because.find("bpf_map_lookup_elem"), std::string::npos);
    EXPECT_NE(error.story->hint.find("right after the call"), std::string::npos);
}

TEST(CausalStory, LookupResultTestedOnlyByA32BitComparison) {
    auto checked = check(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if w0 == 0 goto out
        r1 = *(u64 *)(r0 + 0)
    out:
        r0 = 0
        exit
    )", Xdp, {map_of("values", 64, ir::MapType::Hash)});
    ASSERT_FALSE(checked.result.errors.empty()) << checked.codes();
    const Diagnostic& error = checked.result.errors.front();
    ASSERT_TRUE(error.story);
    EXPECT_EQ(error.story->cause, LostFactCause::NullNotTested) << checked.codes();
    EXPECT_TRUE(has_step(error.story->evidence, 7)) << "the 32-bit test";
    EXPECT_NE(error.story->because.find("32-bit"), std::string::npos);
}

TEST(CausalStory, OneErrorPerRootCause) {
    // Both branches use the untested result: one error, the other "also at".
    auto checked = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r6 > 10 goto second
        r1 = *(u64 *)(r0 + 0)
        r0 = 0
        exit
    second:
        r1 = *(u64 *)(r0 + 8)
        r0 = 0
        exit
    )", Xdp, {map_of("values", 64, ir::MapType::Hash)});
    const Diagnostic& error = only_error(checked);
    ASSERT_EQ(error.also_at.size(), 1u) << checked.codes();
    EXPECT_TRUE(error.pc == 9 || error.pc == 12);
    EXPECT_EQ(error.also_at.front().pc, error.pc == 9 ? 12u : 9u);
    EXPECT_NE(error.to_text().find("also at instruction"), std::string::npos) << error.to_text();
    EXPECT_TRUE(error.to_json().contains("also_at"));
}

TEST(CausalStory, JoinOfAWidenedLoopNamesTheLoopHead) {
    // After a widened loop the path resumes with the loop's iterations merged:
    // a number that comes out of it has lost its per-iteration bound there.
    const char* text = R"(
        r9 = 0
    loop:
        r9 += 1
        if r9 < 100 goto loop
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r0 += r9
        r1 = *(u8 *)(r0 + 0)
    out:
        r0 = 0
        exit
    )";
    ir::Object object;
    object.maps = {map_of("values", 64)};
    ir::AssemblyOptions assembly;
    assembly.map_resolver = [](std::string_view) -> std::optional<uint32_t> { return 0; };
    auto program = ir::assemble_program(text, assembly);
    ASSERT_TRUE(program.has_value());
    Diagnostic error;
    error.code = ErrorCode::MapValueOutOfBounds;
    error.pc = 13;
    error.subject_registers = {0};
    error.registers = {"r0 = pointer to a value of map 'values', offset [0, 99]", "r9 = a number in [0, 99]"};
    error.path = {{0, 0}, {1, 0, true}, {4, 0}, {5, 0}, {6, 0}, {7, 0}, {8, 0}, {10, 0}, {11, 0}, {12, 0}, {13, 0}};
    auto story = tell_story(object, *program, error);
    ASSERT_TRUE(story);
    EXPECT_EQ(story->cause, LostFactCause::JoinInLoop) << story->because;
    EXPECT_TRUE(has_step(story->evidence, 1)) << "the loop head";
    EXPECT_NE(story->because.find("instruction 1"), std::string::npos) << story->because;
}

TEST(CausalStory, ShownInTextAndJson) {
    auto checked = check(BoundOnAnotherLoad, Xdp, {map_of("values", 64)});
    const Diagnostic& error = only_error(checked);
    const std::string text = error.to_text();
    EXPECT_NE(text.find("  because the bound was checked on r8"), std::string::npos) << text;
    EXPECT_NE(text.find("  where the values came from:"), std::string::npos) << text;
    EXPECT_NE(text.find("  fix: compare the register the access uses (r9)"), std::string::npos) << text;
    const auto json = error.to_json();
    ASSERT_TRUE(json.contains("story"));
    EXPECT_EQ(json["story"]["cause"], "checked-on-copy");
    EXPECT_FALSE(json["story"]["origin"].empty());
    EXPECT_FALSE(json["story"]["evidence"].empty());
}

// --- our corpus's negatives (build/corpus, compiled with BTF line info)

struct CorpusStory {
    const char* object;
    LostFactCause cause;
    std::vector<uint32_t> evidence_lines;  // source lines of the story's evidence
    const char* hint;                       // a part of the fix
};

TEST(CausalStoryCorpus, NegativesNameTheirCauseLineAndFix) {
    const std::vector<CorpusStory> cases = {
        {"bad_bound_not_a_copy.o", LostFactCause::CheckedOnCopy, {23}, "compare the register the access uses (r9)"},
        {"bad_spill_overwritten.o", LostFactCause::LostBySpill, {23}, "bound it again after the reload"},
        {"bad_spilled_pointer_overwritten.o", LostFactCause::LostBySpill, {17}, "keep the bounded value in a register"},
        {"bad_null_dereference.o", LostFactCause::NullNotTested, {17}, "right after the call at line 17"},
        {"bad_null_check_32bit.o", LostFactCause::NullNotTested, {17}, "64-bit comparison"},
        {"bad_null_check_other_pointer.o", LostFactCause::NullNotTested, {18}, "right after the call"},
        {"bad_global_nullable_argument.o", LostFactCause::NullNotTested, {}, "test the argument against NULL"},
        {"bad_packet_out_of_bounds.o", LostFactCause::NeverCompared, {12}, "data_end"},
    };
    const std::filesystem::path directory = BPFVET_CORPUS_BUILD_DIR;
    for (const auto& c : cases) {
        const auto path = directory / c.object;
        if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not built (target bpfvet_corpus)";
        auto object = ir::load_object(path.string());
        ASSERT_TRUE(object.has_value()) << c.object;
        bool seen = false;
        for (const auto& program : object->programs) {
            if (program.name.starts_with(".") || program.section == ".text") continue;
            const AnalysisResult result = analyze_program(*object, program);
            for (const auto& error : result.errors) {
                if (!error.story || error.story->cause != c.cause) continue;
                seen = true;
                std::vector<uint32_t> lines;
                for (const auto& step : error.story->evidence)
                    if (step.location) lines.push_back(step.location->line);
                for (uint32_t line : c.evidence_lines)
                    EXPECT_NE(std::ranges::find(lines, line), lines.end()) << c.object << ": no evidence at line " << line;
                EXPECT_NE(error.story->hint.find(c.hint), std::string::npos) << c.object << ": " << error.story->hint;
                EXPECT_FALSE(error.story->origin.empty()) << c.object;
            }
        }
        EXPECT_TRUE(seen) << c.object << ": no error with the cause " << lost_fact_cause_name(c.cause);
    }
}

// --- the shared corpus: every rejection says where its values came from

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<std::string> fields(1);
        bool quoted = false;
        for (char ch : line) {
            if (ch == '"') quoted = !quoted;
            else if (ch == ',' && !quoted) fields.emplace_back();
            else fields.back() += ch;
        }
        rows.push_back(std::move(fields));
    }
    return rows;
}

// Errors about no value (a helper the program type may not call, code never
// reached, a malformed instruction) have no origin to tell.
bool about_a_value(const Diagnostic& error) {
    switch (error.code) {
    case ErrorCode::HelperNotAllowed:
    case ErrorCode::UnreachableInstruction:
    case ErrorCode::InvalidInstruction:
    case ErrorCode::UnknownHelper:
    case ErrorCode::BudgetExceeded:
    case ErrorCode::StackDepth: return false;
    default: return !error.path.empty();
    }
}

TEST(CausalStoryCorpus, EveryRejectionOfTheSharedSamplesHasAnOriginChain) {
    const std::filesystem::path shared = BPFVET_SHARED_DIR;
    const auto csv = shared / "corpus" / "kernel-verdicts.csv";
    if (!std::filesystem::exists(csv)) GTEST_SKIP() << "no " << csv;
    size_t rejections = 0, with_origin = 0;
    for (const auto& row : read_csv(csv)) {
        if (row.size() < 6 || row[5] != "reject") continue;
        auto object = ir::load_object((shared / "corpus" / "ebpf-samples" / row[0]).string());
        if (!object) continue;
        for (const auto& program : object->programs) {
            if (program.section != row[1] || program.name != row[2]) continue;
            AnalysisOptions options;
            options.type = ir::program_type_from_name(row[3]);
            const AnalysisResult result = analyze_program(*object, program, options);
            if (result.accepted) continue;
            ++rejections;
            bool told = false;
            for (const auto& error : result.errors) {
                if (!about_a_value(error)) continue;
                ASSERT_TRUE(error.story) << row[0] << "/" << row[2] << " at " << error.pc;
                EXPECT_FALSE(error.story->origin.empty())
                    << row[0] << "/" << row[2] << ": " << error.code_name() << " at " << error.pc << " has no origin chain";
                told = told || !error.story->origin.empty();
            }
            const bool valueless = std::ranges::none_of(result.errors, about_a_value);
            if (told || valueless) ++with_origin;
        }
    }
    std::cout << with_origin << " of " << rejections << " rejections tell where their values came from (or are about no value)\n";
    EXPECT_GT(rejections, 0u);
    EXPECT_EQ(with_origin, rejections);
}

}  // namespace
}  // namespace bpfvet::analyzer
