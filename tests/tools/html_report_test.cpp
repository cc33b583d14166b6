// `check --format html` and `cfg --format svg` on programs of our corpus: the
// page's structure (verdict rows, error anchors that land on the failing source
// line, the highlighted path's nodes in the embedded SVG), escaping of hostile
// names, the disassembly standing in for a missing source file, and what both
// commands say without Graphviz. Parts that need `dot` skip without it.
#include "cli_runner.hpp"
#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"
#include "tools/failing_path_view.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace bpfvet::test {
namespace {

const std::filesystem::path Corpus = BPFVET_CORPUS_BUILD_DIR;
const std::filesystem::path Rejected = Corpus / "bad_packet_out_of_bounds.o";
const std::filesystem::path Accepted = Corpus / "socket_filter.o";

bool dot_installed() { return run_shell("command -v dot").exit_code == 0; }

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// The attribute `name` of the first element whose opening tag contains `marker`.
std::string attribute_after(const std::string& html, const std::string& marker, const std::string& name) {
    const size_t at = html.find(marker);
    if (at == std::string::npos) return {};
    std::smatch match;
    const std::string rest = html.substr(at, 4000);
    if (!std::regex_search(rest, match, std::regex(name + "=\"([^\"]*)\""))) return {};
    return match[1];
}

// The tags that structure the page open and close in equal numbers.
void expect_balanced(const std::string& html) {
    for (const char* tag : {"section", "table", "tr", "div", "ol", "details", "svg", "html", "body"})
        EXPECT_EQ(count(html, std::string("<") + tag + ">") + count(html, std::string("<") + tag + " "),
                  count(html, std::string("</") + tag + ">"))
            << tag;
}

std::filesystem::path scratch(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("bpfvet_html_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir / name;
}

// A copy of `source` with every occurrence of `from` replaced by `to` (same length).
std::filesystem::path patched_copy(const std::filesystem::path& source, const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& replacements) {
    std::stringstream read;
    read << std::ifstream(source, std::ios::binary).rdbuf();
    std::string bytes = read.str();
    for (const auto& [from, to] : replacements) {
        EXPECT_EQ(from.size(), to.size());
        for (size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + 1)) bytes.replace(at, from.size(), to);
    }
    auto path = scratch(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

TEST(HtmlReport, VerdictRowsErrorAnchorsAndThePathInTheGraph) {
    if (!std::filesystem::exists(Rejected)) GTEST_SKIP() << "corpus not built";
    CliResult run = run_cli("check --format html " + quote(Rejected) + " " + quote(Accepted));
    ASSERT_EQ(run.exit_code, 1) << run.output.substr(0, 2000);
    const std::string& html = run.output;
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("</html>"), std::string::npos);
    expect_balanced(html);
    // Self-contained: no script, nothing fetched.
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find(" src="), std::string::npos);

    // One verdict row per program, the rejected one linking its first error.
    EXPECT_NE(html.find("<tr class=\"reject\"><td>" + Rejected.string() + "</td><td><a href=\"#p0\">xdp/xdp_packet_out_of_bounds</a>"),
              std::string::npos);
    EXPECT_EQ(count(html, "<tr class=\"accept\">"), 1u);
    EXPECT_NE(html.find("<a href=\"#p0-e0\">error[packet-out-of-bounds]</a>"), std::string::npos);
    EXPECT_NE(html.find("<div class=\"error\" id=\"p0-e0\">"), std::string::npos);

    // The error's location links to its source line, a row marked as the error
    // that shows the line the C file has there.
    const std::string target = attribute_after(html, "<div class=\"error\" id=\"p0-e0\">", "href");
    ASSERT_FALSE(target.empty());
    ASSERT_EQ(target[0], '#');
    const std::string row = "<tr id=\"" + target.substr(1) + "\" class=\"error\">";
    ASSERT_NE(html.find(row), std::string::npos) << target;
    EXPECT_NE(target.find("-L"), std::string::npos) << "a source line, not an instruction: " << target;
    EXPECT_NE(html.substr(html.find(row), 400).find("ip-&gt;protocol"), std::string::npos);
    EXPECT_NE(html.find("Where the values came from"), std::string::npos);

    if (!dot_installed()) GTEST_SKIP() << "graphviz not installed: the SVG part is not checked";
    const std::string nodes = attribute_after(html, "<div class=\"svg\"", "data-path-nodes");
    ASSERT_FALSE(nodes.empty());
    std::istringstream ids(nodes);
    size_t checked = 0;
    for (std::string id; ids >> id; ++checked) EXPECT_NE(html.find("<g id=\"" + id + "\""), std::string::npos) << id;
    EXPECT_GE(checked, 2u) << "the path runs through the entry block to the failing one";
    EXPECT_NE(html.find("#ffd6d6"), std::string::npos) << "the failing block is filled red";
    EXPECT_NE(html.find("&lt;&lt;&lt; error[packet"), std::string::npos);
    EXPECT_EQ(html.find("<?xml"), std::string::npos) << "the SVG is inlined without its prolog";
}

// A function named with markup and a source file that does not exist: every
// name is escaped, and the instructions with their line info stand in for the source.
TEST(HtmlReport, EscapesHostileNamesAndListsInstructionsWithoutTheSource) {
    if (!std::filesystem::exists(Rejected)) GTEST_SKIP() << "corpus not built";
    const std::string hostile = "<i>\"x'&amp;</i><b>yz</b>";
    const auto object = patched_copy(Rejected, "hostile.o",
                                     {{"xdp_packet_out_of_bounds", hostile}, {"bad_packet_out_of_bounds.c", "bad_packet_out_of_bounds.z"}});
    CliResult run = run_cli("check --format html " + quote(object));
    ASSERT_EQ(run.exit_code, 1) << run.output.substr(0, 2000);
    const std::string& html = run.output;
    EXPECT_EQ(html.find(hostile), std::string::npos);
    EXPECT_EQ(html.find("<i>"), std::string::npos);
    EXPECT_NE(html.find("&lt;i&gt;&quot;x&apos;&amp;amp;&lt;/i&gt;&lt;b&gt;yz&lt;/b&gt;"), std::string::npos);
    expect_balanced(html);
    EXPECT_NE(html.find("is not readable here"), std::string::npos);
    const std::string target = attribute_after(html, "<div class=\"error\" id=\"p0-e0\">", "href");
    ASSERT_FALSE(target.empty());
    EXPECT_NE(target.find("-pc-"), std::string::npos) << target;
    const std::string row = "<tr id=\"" + target.substr(1) + "\" class=\"error\">";
    ASSERT_NE(html.find(row), std::string::npos);
    EXPECT_NE(html.substr(html.find(row), 600).find("bad_packet_out_of_bounds.z:"), std::string::npos)
        << "the line info names the file and line";
}

TEST(HtmlReport, SaysGraphvizIsMissingWithoutDot) {
    if (!std::filesystem::exists(Rejected)) GTEST_SKIP() << "corpus not built";
    CliResult html = run_shell("env PATH=/nonexistent " + std::string(BPFVET_CLI) + " check --format html " + quote(Rejected));
    EXPECT_EQ(html.exit_code, 1);
    EXPECT_NE(html.output.find("install the graphviz package"), std::string::npos);
    EXPECT_EQ(html.output.find("<svg"), std::string::npos);
    CliResult svg = run_shell("env PATH=/nonexistent " + std::string(BPFVET_CLI) + " cfg --format svg " + quote(Rejected));
    EXPECT_EQ(svg.exit_code, 2);
    EXPECT_NE(svg.output.find("graphviz"), std::string::npos) << svg.output;
}

TEST(CfgSvg, HighlightsTheFailingPathOfARejectedProgram) {
    if (!std::filesystem::exists(Rejected)) GTEST_SKIP() << "corpus not built";
    if (!dot_installed()) GTEST_SKIP() << "graphviz not installed";
    CliResult rejected = run_cli("cfg --format svg " + quote(Rejected));
    EXPECT_EQ(rejected.exit_code, 1) << rejected.output.substr(0, 500);
    EXPECT_NE(rejected.output.find("<svg"), std::string::npos);
    EXPECT_NE(rejected.output.find("</svg>"), std::string::npos);
    EXPECT_NE(rejected.output.find("#ffd6d6"), std::string::npos);
    EXPECT_NE(rejected.output.find("&lt;&lt;&lt; error[packet"), std::string::npos);
    EXPECT_NE(rejected.output.find("bad_packet_out_of_bounds.c:16"), std::string::npos) << "source lines on the blocks";

    CliResult accepted = run_cli("cfg --format svg " + quote(Corpus / "xdp_parser.o"));
    EXPECT_EQ(accepted.exit_code, 0) << accepted.output.substr(0, 500);
    EXPECT_NE(accepted.output.find("</svg>"), std::string::npos);
    EXPECT_EQ(accepted.output.find("#ffd6d6"), std::string::npos) << "nothing failed: nothing red";

    CliResult several = run_cli("cfg --format svg " + quote(Corpus / "bad_const_string.o"));
    EXPECT_EQ(several.exit_code, 2) << "two programs, one picture: " << several.output.substr(0, 300);
}

// A program with more blocks than the limit: only the failing function's
// blocks on (and next to) the failing path are drawn, the failing one among them.
TEST(FailingPathView, DrawsOnlyTheNeighbourhoodOfTheFailureInLargePrograms) {
    if (!std::filesystem::exists(Rejected)) GTEST_SKIP() << "corpus not built";
    auto object = ir::load_object(Rejected.string());
    ASSERT_TRUE(object.has_value());
    const ir::Program& program = object->programs.front();
    auto result = analyzer::analyze_program(*object, program);
    ASSERT_FALSE(result.errors.empty());
    auto cfg = ir::build_cfg(program);
    ASSERT_TRUE(cfg.has_value());
    const size_t blocks = boost::num_vertices(cfg->functions.front().graph);
    ASSERT_GE(blocks, 3u);

    auto whole = tools::failing_path_view(program, *cfg, result.errors, blocks);
    EXPECT_TRUE(whole.scope_note.empty());
    EXPECT_FALSE(whole.view.only_blocks.has_value());

    auto part = tools::failing_path_view(program, *cfg, result.errors, 2);
    EXPECT_NE(part.scope_note.find("blocks, more than the 2 drawn at most"), std::string::npos);
    ASSERT_TRUE(part.view.only_blocks.has_value());
    EXPECT_LE(part.view.only_blocks->size(), 2u);
    const uint32_t failing = result.errors.front().pc;
    EXPECT_TRUE(part.view.only_blocks->contains({cfg->function_of[failing], ir::BlockId(cfg->block_of[failing])}));
    EXPECT_LT(count(ir::cfg_to_dot(program, *cfg, &*object, part.view), "[id="),
              count(ir::cfg_to_dot(program, *cfg, &*object, whole.view), "[id="));
}

}  // namespace
}  // namespace bpfvet::test
