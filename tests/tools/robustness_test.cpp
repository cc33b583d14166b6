// Bad input never crashes, and every command behaves: one test per class of
// failure (issue 15), each on an input made here from our own corpus, so it
// runs without ../shared; the reproducers of ../shared/repro are in repro_test.cpp.
#include "corpus_test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <fstream>
#include <iterator>

namespace bpfvet::test {
namespace {

std::filesystem::path built(const std::string& name) { return std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / name; }

std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// A copy of `source` in `directory` with every occurrence of `from` replaced by
// `to` (same length: offsets stay valid). Empty when `from` does not occur.
std::filesystem::path patched_copy(const std::filesystem::path& source, const std::filesystem::path& directory,
                                   const std::string& from, const std::string& to) {
    std::string bytes = read_bytes(source);
    size_t replaced = 0;
    for (size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + to.size())) {
        bytes.replace(at, from.size(), to);
        ++replaced;
    }
    if (replaced == 0) return {};
    auto path = directory / (source.stem().string() + "-patched.o");
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

// The JSON document in the output (stderr is merged in by run_cli).
nlohmann::json json_part(const std::string& output) {
    const size_t first = output.find('{'), last = output.rfind('}');
    if (first == std::string::npos || last == std::string::npos) return nullptr;
    return nlohmann::json::parse(output.substr(first, last - first + 1), nullptr, false);
}

class Robustness : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(built("socket_filter.o"))) GTEST_SKIP() << "corpus not built";
        ASSERT_FALSE(directory_.path().empty());
    }
    TemporaryDirectory directory_;
};

// Class: indices read from the file. An instruction naming a map the object
// does not have is the kernel's rejection of that program, never a crash of
// the commands that only list it.
TEST_F(Robustness, MapIndexOutOfRangeIsListedNotFollowed) {
    const auto object = built("bad_invalid_map_reference.o");
    for (const std::string format : {"text", "json"}) {
        auto result = run_cli("sections --format " + format + " " + quote(object));
        EXPECT_EQ(result.exit_code, 0) << result.output;
        EXPECT_NE(result.output.find("no such map"), std::string::npos) << result.output;
    }
    EXPECT_EQ(run_cli("disasm " + quote(object)).exit_code, 0);
    auto check = run_cli("check " + quote(object));
    EXPECT_EQ(check.exit_code, 1) << check.output;
    EXPECT_NE(check.output.find("invalid-map-reference"), std::string::npos) << check.output;
}

// Class: files that are not regular files. A directory read as a stream has
// a size of 2^63-1; a fifo never ends. Both refused at once, exit 2.
TEST_F(Robustness, NonRegularFilesAreRefused) {
    const auto fifo = directory_.path() / "pipe.o";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    for (const std::string command : {"sections", "check", "disasm", "run", "cfg"}) {
        auto on_directory = run_cli(command + " " + quote(directory_.path()));
        EXPECT_EQ(on_directory.exit_code, 2) << command << "\n" << on_directory.output;
        EXPECT_NE(on_directory.output.find("is a directory"), std::string::npos) << command << "\n" << on_directory.output;
        auto on_fifo = run_shell("timeout 10 " + std::string(BPFVET_CLI) + " " + command + " " + quote(fifo));
        EXPECT_EQ(on_fifo.exit_code, 2) << command << "\n" << on_fifo.output;
        EXPECT_NE(on_fifo.output.find("is a fifo"), std::string::npos) << command << "\n" << on_fifo.output;
    }
    auto missing = run_cli("check " + quote(directory_.path() / "missing.o"));
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.output.find("No such file"), std::string::npos) << "the errno text: " << missing.output;
}

// Class: bytes that are not UTF-8 in names the object chooses. Every
// structured format stays a valid document; the byte becomes U+FFFD.
TEST_F(Robustness, NamesThatAreNotUtf8StayValidDocuments) {
    // 0xff never occurs in UTF-8: the function's name gets one.
    const auto object = patched_copy(built("socket_filter.o"), directory_.path(), "socket_dns_only", "socket\xff""dns_only");
    ASSERT_FALSE(object.empty());
    for (const std::string command : {"sections --format json", "check --format json", "check --format sarif"}) {
        auto result = run_cli(command + " " + quote(object));
        EXPECT_LE(result.exit_code, 1) << command << "\n" << result.output;
        auto document = json_part(result.output);
        ASSERT_FALSE(document.is_discarded()) << command << "\n" << result.output;
        if (command != "check --format sarif")  // an accepted program has no result naming it
            EXPECT_NE(document.dump().find("socket\xef\xbf\xbd""dns_only"), std::string::npos) << command;
    }
    auto junit = run_cli("check --format junit " + quote(object));
    EXPECT_LE(junit.exit_code, 1);
    EXPECT_NE(junit.output.find("socket\xef\xbf\xbd""dns_only"), std::string::npos) << junit.output;
    EXPECT_EQ(junit.output.find("\xff"), std::string::npos) << "no raw byte in the XML";
}

// Class: CI formats on bad input: still one whole document that says so.
TEST_F(Robustness, CiFormatsReportBadInputAsDocuments) {
    const auto missing = directory_.path() / "missing.o";
    auto sarif = run_cli("check --format sarif " + quote(missing) + " " + quote(built("socket_filter.o")));
    EXPECT_EQ(sarif.exit_code, 2) << sarif.output;
    auto document = json_part(sarif.output);
    ASSERT_TRUE(document.is_object()) << sarif.output;
    const auto& run = document["runs"][0];
    ASSERT_FALSE(run["results"].empty());
    EXPECT_EQ(run["results"][0]["ruleId"], "bad-input");
    EXPECT_EQ(run["invocations"][0]["executionSuccessful"], false);
    EXPECT_EQ(run["artifacts"].size(), 2u) << "both objects are analysis targets";

    auto junit = run_cli("check --format junit " + quote(missing));
    EXPECT_EQ(junit.exit_code, 2);
    EXPECT_NE(junit.output.find("<testsuites"), std::string::npos) << junit.output;
    EXPECT_NE(junit.output.find("errors=\"1\""), std::string::npos) << junit.output;
    EXPECT_NE(junit.output.find("<error message="), std::string::npos) << junit.output;

    auto github = run_cli("check --format github " + quote(missing));
    EXPECT_EQ(github.exit_code, 2);
    EXPECT_NE(github.output.find("::error file="), std::string::npos) << github.output;
}

// `check` takes several objects: one document for all, the worst exit code.
TEST_F(Robustness, CheckTakesSeveralObjects) {
    auto result = run_cli("check --format json " + quote(built("socket_filter.o")) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    auto document = json_part(result.output);
    ASSERT_TRUE(document.contains("objects")) << result.output;
    EXPECT_EQ(document["objects"].size(), 2u);
}

// Class: sections whose name implies no program type. Every command that
// analyses, runs or compiles a program refuses to guess, asking for --type.
TEST_F(Robustness, UntypedSectionsNeedType) {
    // "socket" -> "filter": the section of suricata's filter.o, which nothing names a type.
    const auto object = patched_copy(built("socket_filter.o"), directory_.path(), std::string("socket\0", 7),
                                     std::string("filter\0", 7));
    ASSERT_FALSE(object.empty());
    auto sections = run_cli("sections " + quote(object));
    EXPECT_EQ(sections.exit_code, 0) << sections.output;
    EXPECT_NE(sections.output.find("unspec"), std::string::npos) << sections.output;
    const std::string output = (directory_.path() / "out.o").string();
    for (const std::string& command : std::vector<std::string>{"check", "explain", "run --packet 00", "compile -o " + output}) {
        auto refused = run_cli(command + " " + quote(object));
        EXPECT_EQ(refused.exit_code, 2) << command << "\n" << refused.output;
        EXPECT_NE(refused.output.find("names no program type"), std::string::npos) << command << "\n" << refused.output;
        EXPECT_NE(refused.output.find("--type"), std::string::npos) << command << "\n" << refused.output;
    }
    // With --type, all three agree on it.
    auto check = run_cli("check --format json --type socket_filter " + quote(object));
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_EQ(json_part(check.output)["programs"][0]["type"], "socket_filter");
    auto run = run_cli("run --format json --type socket_filter --packet 00 " + quote(object));
    EXPECT_LE(run.exit_code, 1) << run.output;
    EXPECT_EQ(json_part(run.output)["type"], "socket_filter") << run.output;
    EXPECT_EQ(run_cli("compile --type socket_filter -o " + output + " " + quote(object)).exit_code, 0);
}

// Class: `run` prints what a run did to the maps, not their size: all-zero
// entries are counted, not printed; at most 64 entries per map by default.
TEST_F(Robustness, RunPrintsNonZeroMapEntriesOnly) {
    const std::string packet = " --packet " + std::string(48, '0') + " ";
    auto run = run_cli("run --format json" + packet + quote(built("widened_loop_map_bound.o")));
    ASSERT_LE(run.exit_code, 1) << run.output;
    auto document = json_part(run.output);
    ASSERT_TRUE(document.is_object()) << run.output;
    size_t zero = 0;
    for (const auto& [name, map] : document["maps"].items()) {
        zero += map["zero_entries"].get<size_t>();
        for (const auto& entry : map["entries"])
            EXPECT_NE(entry["value"].get<std::string>().find_first_not_of('0'), std::string::npos) << name;
    }
    EXPECT_GT(zero, 0u) << "widened_loop_map_bound.o's maps stay zero on a zero packet: " << run.output;
    auto all = run_cli("run --format json --all-map-entries" + packet + quote(built("widened_loop_map_bound.o")));
    const auto everything = json_part(all.output);
    size_t shown = 0;
    for (const auto& [name, map] : everything["maps"].items()) shown += map["entries"].size();
    EXPECT_GT(shown, 0u) << all.output;
}

// Class: `compare` on empty and partial runs, `--version`, `corpus` resume.
TEST_F(Robustness, CompareAcceptsEmptyAndPartialRuns) {
    const auto empty = directory_.path() / "empty.jsonl";
    const auto partial = directory_.path() / "partial.jsonl";
    std::ofstream(empty).flush();
    std::ofstream(partial) << R"({"file":"x.o","section":"s","program":"p","type":"xdp","verdict":"accept","seconds":0.1})"
                           << "\n{\"file\":\"x.o\",\"sect";  // cut short
    for (const auto& [a, b] : {std::pair{empty, partial}, std::pair{partial, empty}, std::pair{empty, empty}}) {
        auto result = run_cli("compare " + quote(a) + " " + quote(b));
        EXPECT_LE(result.exit_code, 1) << result.output;
        EXPECT_NE(result.output.find("no records"), std::string::npos) << result.output;
    }
    auto partial_run = run_cli("compare " + quote(partial) + " " + quote(partial));
    EXPECT_EQ(partial_run.exit_code, 0) << partial_run.output;
    EXPECT_NE(partial_run.output.find("skipped 1 line"), std::string::npos) << partial_run.output;
    auto directory = run_cli("compare " + quote(directory_.path()) + " " + quote(partial));
    EXPECT_EQ(directory.exit_code, 2) << directory.output;
}

TEST_F(Robustness, VersionIsPrinted) {
    auto result = run_cli("--version");
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(result.output.rfind("bpfvet ", 0), 0u) << result.output;
}

TEST_F(Robustness, CorpusRefusesToResumeRecordsOfOtherOptions) {
    const auto objects = directory_.path() / "objects";
    std::filesystem::create_directories(objects);
    std::filesystem::copy_file(built("socket_filter.o"), objects / "socket_filter.o");
    const auto out = directory_.path() / "run.jsonl";
    auto first = run_cli("corpus -j 1 --max-steps 100000 -o " + quote(out) + " " + quote(objects));
    ASSERT_EQ(first.exit_code, 0) << first.output;
    auto same = run_cli("corpus -j 1 --max-steps 100000 -o " + quote(out) + " " + quote(objects));
    EXPECT_EQ(same.exit_code, 0) << same.output;
    auto other = run_cli("corpus -j 1 --max-steps 200000 -o " + quote(out) + " " + quote(objects));
    EXPECT_EQ(other.exit_code, 2) << other.output;
    EXPECT_NE(other.output.find("max_steps"), std::string::npos) << other.output;
}

}  // namespace
}  // namespace bpfvet::test
