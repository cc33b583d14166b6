// `bpfvet corpus`: discovery, one line per program, worker isolation (a killed
// worker, a hung worker), sharding, resuming, plots, and the shared corpus.
#include "corpus_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace bpfvet::test {
namespace {

class CorpusCommand : public ::testing::Test {
protected:
    void SetUp() override {
        if (directory_.path().empty()) GTEST_SKIP() << "no temporary directory";
        samples_ = directory_.path() / "samples";
        if (!make_fixture(samples_)) GTEST_SKIP() << "corpus objects not built (target bpfvet_corpus)";
    }
    std::filesystem::path out(const std::string& name) const { return directory_.path() / name; }

    TemporaryDirectory directory_;
    std::filesystem::path samples_;
};

TEST_F(CorpusCommand, WritesOneLinePerProgramWithTheDocumentedFields) {
    const auto results = out("results.jsonl");
    CliResult run = run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    ASSERT_EQ(records.size(), FixtureProgramCount + 1) << run.output;  // + broken.o
    EXPECT_EQ(keys_of(records).size(), records.size()) << "a program was recorded twice";
    for (const auto& [file, names] : fixture_programs())
        for (const auto& name : names) {
            const auto* record = find_program(records, name);
            ASSERT_NE(record, nullptr) << name << " is missing";
            EXPECT_EQ(record->at("file"), file);
            for (const char* field : {"section", "type", "insn_count", "verdict", "error_code", "error_pc", "seconds", "cpu_seconds",
                                      "peak_kib", "steps", "errors", "version", "options"})
                EXPECT_TRUE(record->contains(field)) << name << " lacks " << field;
            EXPECT_GT(record->at("insn_count").get<int>(), 0);
            EXPECT_GT(record->at("steps").get<int>(), 0) << name;
            EXPECT_GT(record->at("peak_kib").get<int>(), 0) << name;
            EXPECT_FALSE(record->contains("kernel_verdict")) << "kernel fields without --kernel";
        }
    EXPECT_EQ(find_program(records, "socket_dns_only")->at("verdict"), "accept");
    EXPECT_EQ(find_program(records, "xdp_parse")->at("type"), "xdp");
    const auto* null_dereference = find_program(records, "kprobe_null_dereference");
    EXPECT_EQ(null_dereference->at("verdict"), "reject");
    EXPECT_EQ(null_dereference->at("error_code"), "null-dereference");
    EXPECT_TRUE(null_dereference->at("error_pc").is_number());
    // The object that does not load is one bad-input record with the loader's message.
    auto broken = std::ranges::find_if(records, [](const auto& r) { return r.at("file") == "broken.o"; });
    ASSERT_NE(broken, records.end());
    EXPECT_EQ(broken->at("verdict"), "bad-input");
    EXPECT_EQ(broken->at("section"), "");
    EXPECT_FALSE(broken->at("error_message").get<std::string>().empty());
    EXPECT_NE(run.output.find("10 programs in 7 objects: 8 accept, 1 reject, 1 bad-input, 0 timeout, 0 out-of-memory, 0 crashed"),
              std::string::npos)
        << run.output;
}

TEST_F(CorpusCommand, WithoutOutWritesTheLinesOnStdout) {
    CliResult run = run_cli("corpus " + quote(samples_ / "net") + " --jobs 1");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    std::istringstream lines(run.output);  // the records, and the summary from stderr
    std::string line;
    size_t count = 0;
    while (std::getline(lines, line)) {
        if (line.starts_with("bpfvet corpus:")) continue;
        auto json = nlohmann::json::parse(line);
        EXPECT_EQ(json.at("verdict"), "accept") << line;
        ++count;
    }
    EXPECT_EQ(count, 3u);
}

TEST_F(CorpusCommand, AKilledWorkerCostsOnlyItsProgram) {
    const auto results = out("results.jsonl");
    ScopedEnvironment crash("BPFVET_CORPUS_TEST_CRASH", "xdp_handle_ipv4");
    CliResult run = run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    ASSERT_EQ(records.size(), FixtureProgramCount + 1) << run.output;
    const auto* crashed = find_program(records, "xdp_handle_ipv4");
    ASSERT_NE(crashed, nullptr);
    EXPECT_EQ(crashed->at("verdict"), "crashed");
    EXPECT_NE(crashed->at("error_message").get<std::string>().find("SIGKILL"), std::string::npos) << *crashed;
    // The other programs of the same object were analysed by a new worker.
    EXPECT_EQ(find_program(records, "xdp_dispatch")->at("verdict"), "accept");
    EXPECT_EQ(find_program(records, "xdp_handle_ipv6")->at("verdict"), "accept");
    EXPECT_NE(run.output.find("1 crashed"), std::string::npos) << run.output;
}

TEST_F(CorpusCommand, AHungWorkerIsKilledAtTheBudgetAndRecordedAsTimeout) {
    const auto results = out("results.jsonl");
    ScopedEnvironment hang("BPFVET_CORPUS_TEST_HANG", "exec_event_reserve");
    CliResult run = run_cli("corpus " + quote(samples_ / "net") + " --jobs 2 --budget-seconds 1 --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    ASSERT_EQ(records.size(), 3u) << run.output;
    EXPECT_EQ(find_program(records, "exec_event_reserve")->at("verdict"), "timeout");
    EXPECT_EQ(find_program(records, "exec_event_output")->at("verdict"), "accept");
    EXPECT_EQ(find_program(records, "socket_dns_only")->at("verdict"), "accept");
}

TEST_F(CorpusCommand, ShardsAreDisjointAndTogetherComplete) {
    const auto full = out("full.jsonl");
    ASSERT_EQ(run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(full)).exit_code, 0);
    const auto all = read_json_lines(full);
    std::map<Key, std::string> verdicts;
    for (const auto& record : all) verdicts[key_of(record)] = record.at("verdict");

    std::set<Key> seen;
    size_t total = 0;
    for (int shard = 0; shard < 3; ++shard) {
        const auto part = out("shard" + std::to_string(shard) + ".jsonl");
        CliResult run = run_cli("corpus " + quote(samples_) + " --jobs 2 --shard " + std::to_string(shard) + "/3 --out " + quote(part));
        ASSERT_EQ(run.exit_code, 0) << run.output;
        const auto records = read_json_lines(part);
        total += records.size();
        for (const auto& record : records) {
            EXPECT_TRUE(seen.insert(key_of(record)).second) << record << " is in two shards";
            EXPECT_EQ(verdicts[key_of(record)], record.at("verdict"));
        }
    }
    EXPECT_EQ(total, all.size());
    EXPECT_EQ(seen, keys_of(all));
}

TEST_F(CorpusCommand, ResumesAfterAnInterruptionWithoutDuplicates) {
    const auto results = out("results.jsonl");
    ASSERT_EQ(run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(results)).exit_code, 0);
    const auto complete = read_json_lines(results);

    // Keep four lines and half of the fifth, as a run killed mid-write leaves it.
    std::vector<std::string> lines;
    {
        std::ifstream in(results);
        std::string line;
        while (std::getline(in, line)) lines.push_back(line);
    }
    ASSERT_GE(lines.size(), 5u);
    {
        std::ofstream truncated(results, std::ios::trunc);
        for (size_t i = 0; i < 4; ++i) truncated << lines[i] << "\n";
        truncated << lines[4].substr(0, lines[4].size() / 2);
    }
    CliResult resumed = run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(results));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("(4 from an earlier run)"), std::string::npos) << resumed.output;
    EXPECT_NE(resumed.output.find("incomplete line"), std::string::npos) << resumed.output;
    const auto records = read_json_lines(results);  // throws on a torn line left inside
    EXPECT_EQ(records.size(), complete.size());
    EXPECT_EQ(keys_of(records), keys_of(complete));
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(records[i], nlohmann::json::parse(lines[i])) << "earlier lines are kept as they were";

    // A finished run resumed does nothing.
    CliResult again = run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(results));
    ASSERT_EQ(again.exit_code, 0);
    EXPECT_EQ(read_json_lines(results).size(), complete.size());
    EXPECT_NE(again.output.find("(10 from an earlier run)"), std::string::npos) << again.output;
}

// BTF-typed programs calling kfuncs get check's verdict: the worker types
// them from the kernel's BTF as check does (it rejected them all before).
TEST_F(CorpusCommand, TypesKfuncProgramsFromTheKernelBtfAsCheckDoes) {
    const auto source = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "task_kfuncs.o";
    if (!std::filesystem::exists(source)) GTEST_SKIP() << source << " was not built";
    if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) GTEST_SKIP() << "no kernel BTF on this machine";
    const auto directory = out("kfuncs");
    std::filesystem::create_directories(directory);
    std::filesystem::copy_file(source, directory / "task_kfuncs.o");
    const auto results = out("kfuncs.jsonl");
    CliResult run = run_cli("corpus " + quote(directory) + " --jobs 1 --out " + quote(results));
    EXPECT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    ASSERT_EQ(records.size(), 2u) << run.output;
    for (const auto& record : records) {
        EXPECT_EQ(record.at("verdict"), "accept") << record.dump();
        EXPECT_EQ(record.at("options").at("kernel_btf"), "") << "the option is recorded for resuming";
    }
    CliResult unusable = run_cli("corpus " + quote(directory) + " --jobs 1 --kernel-btf /nonexistent/vmlinux");
    EXPECT_NE(unusable.output.find("bad-input"), std::string::npos) << unusable.output;
}

TEST_F(CorpusCommand, TypesFromACsvOverrideTheSectionName) {
    const auto types = out("types.csv");  // keys are relative to the root given, here samples/net
    std::ofstream(types) << "file,section,program,prog_type\nsocket_filter.o,socket,socket_dns_only,sched_cls\n";
    const auto results = out("results.jsonl");
    CliResult run = run_cli("corpus " + quote(samples_ / "net") + " --jobs 1 --types-from " + quote(types) + " --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    const auto* socket = find_program(records, "socket_dns_only");
    ASSERT_NE(socket, nullptr);
    // Only when the section really is "socket" does the row apply.
    if (socket->at("section") == "socket") EXPECT_EQ(socket->at("type"), "sched_cls");
    else EXPECT_EQ(socket->at("type"), "socket_filter");
    EXPECT_EQ(find_program(records, "exec_event_output")->at("type"), "kprobe") << "rows not listed keep their type";
}

TEST_F(CorpusCommand, PlotsARunAndAnEarlierResultsFile) {
    const auto results = out("results.jsonl");
    const auto svg = out("plot.svg");
    ASSERT_EQ(run_cli("corpus " + quote(samples_) + " --jobs 2 --out " + quote(results) + " --plot " + quote(svg)).exit_code, 0);
    std::stringstream text;
    text << std::ifstream(svg).rdbuf();
    EXPECT_TRUE(text.str().starts_with("<?xml")) << text.str().substr(0, 100);
    EXPECT_NE(text.str().find("</svg>"), std::string::npos);
    EXPECT_NE(text.str().find("run with --kernel"), std::string::npos) << "no kernel times: said, not drawn";

    // Kernel times from a results file: one point per program that has both times.
    const auto handmade = out("kernel.jsonl");
    std::ofstream(handmade)
        << R"({"file":"a.o","section":"s","program":"p","verdict":"accept","seconds":0.01,"kernel_verdict":"accept","kernel_load_seconds":0.002})"
        << "\n"
        << R"({"file":"a.o","section":"s","program":"q<&>","verdict":"reject","seconds":0.5,"kernel_verdict":"accept","kernel_load_seconds":0.02})"
        << "\n";
    const auto second = out("second.svg");
    CliResult plot = run_cli("corpus --plot " + quote(second) + " --from " + quote(handmade));
    ASSERT_EQ(plot.exit_code, 0) << plot.output;
    std::stringstream drawn;
    drawn << std::ifstream(second).rdbuf();
    const std::string svg_text = drawn.str();
    size_t circles = 0;
    for (size_t at = svg_text.find("<circle"); at != std::string::npos; at = svg_text.find("<circle", at + 1)) ++circles;
    EXPECT_EQ(circles, 2u);
    EXPECT_NE(svg_text.find("#d62728"), std::string::npos) << "the disagreement is drawn in red";
    EXPECT_NE(svg_text.find("q&lt;&amp;&gt;"), std::string::npos) << "names are escaped";
}

// The running kernel's verdicts beside ours, or a clear note when bpf(2) is refused.
TEST_F(CorpusCommand, KernelFieldsComeFromTheRunningKernel) {
    const auto results = out("results.jsonl");
    CliResult run = run_cli("corpus " + quote(samples_) + " --jobs 2 --kernel --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    ASSERT_EQ(records.size(), FixtureProgramCount + 1);
    EXPECT_NE(run.output.find("kernel agreement"), std::string::npos) << run.output;
    for (const auto& record : records) {
        if (record.at("verdict") == "bad-input") continue;
        ASSERT_TRUE(record.contains("kernel_verdict")) << record;
        for (const char* field : {"kernel_errno", "kernel_processed_insns", "kernel_load_seconds", "kernel_first_error_line"})
            EXPECT_TRUE(record.contains(field)) << record;
    }
    const auto* accepted = find_program(records, "socket_dns_only");
    if (accepted->at("kernel_verdict") == "unavailable") {
        EXPECT_NE(run.output.find("no kernel verdicts"), std::string::npos) << run.output;
        GTEST_SKIP() << "the kernel refuses bpf(2) here: " << accepted->at("kernel_first_error_line");
    }
    EXPECT_EQ(accepted->at("kernel_verdict"), "accept");
    EXPECT_GT(accepted->at("kernel_processed_insns").get<int>(), 0);
    EXPECT_GT(accepted->at("kernel_load_seconds").get<double>(), 0);
    const auto* rejected = find_program(records, "kprobe_null_dereference");
    EXPECT_EQ(rejected->at("kernel_verdict"), "reject");
    EXPECT_NE(rejected->at("kernel_errno").get<int>(), 0);
    EXPECT_FALSE(rejected->at("kernel_first_error_line").get<std::string>().empty());
}

TEST(CorpusCommandErrors, BadInputIsExitCodeTwoWithAMessage) {
    TemporaryDirectory empty;
    ASSERT_FALSE(empty.path().empty());
    CliResult none = run_cli("corpus " + quote(empty.path()));
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.output.find("no eBPF objects"), std::string::npos) << none.output;
    CliResult missing = run_cli("corpus " + quote(empty.path() / "absent"));
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.output.find("no such file"), std::string::npos) << missing.output;
    for (const char* shard : {"3/3", "1", "a/b", "0/0"}) {
        CliResult bad = run_cli("corpus " + quote(empty.path()) + " --shard " + shard);
        EXPECT_EQ(bad.exit_code, 2) << shard;
        EXPECT_NE(bad.output.find("--shard wants I/N"), std::string::npos) << bad.output;
    }
    EXPECT_EQ(run_cli("corpus").exit_code, 2);
    EXPECT_EQ(run_cli("corpus --from x.jsonl").exit_code, 2) << "--from needs --plot";
}

// ---------------------------------------------------------------- the shared corpus

std::filesystem::path shared_samples() { return std::filesystem::path(BPFVET_SHARED_DIR) / "corpus" / "ebpf-samples"; }
std::filesystem::path shared_verdicts() { return std::filesystem::path(BPFVET_SHARED_DIR) / "corpus" / "kernel-verdicts.csv"; }

// Keys of the kernel-verdicts.csv rows that name a program.
std::set<Key> reference_keys() {
    std::set<Key> keys;
    std::ifstream in(shared_verdicts());
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> fields(1);
        bool quoted = false;
        for (char c : line) {
            if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) fields.emplace_back();
            else fields.back() += c;
        }
        if (fields.size() > 2 && !fields[1].empty()) keys.insert({fields[0], fields[1], fields[2]});
    }
    return keys;
}

// The whole shared corpus with two workers: every program the kernel's
// reference names is recorded exactly once, nothing crashes or times out,
// and the summary adds up.
TEST(CorpusCommandShared, EveryProgramOfTheSharedCorpusIsRecordedOnce) {
    if (!std::filesystem::exists(shared_verdicts())) GTEST_SKIP() << "no " << shared_verdicts();
    TemporaryDirectory directory;
    const auto results = directory.path() / "shared.jsonl";
    CliResult run = run_cli("corpus " + quote(shared_samples()) + " --jobs 2 --types-from " + quote(shared_verdicts()) +
                            " --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const auto records = read_json_lines(results);
    const auto keys = keys_of(records);
    EXPECT_EQ(keys.size(), records.size()) << "a program was recorded twice";
    size_t accepted = 0;
    std::map<std::string, size_t> by_verdict;
    for (const auto& record : records) ++by_verdict[record.at("verdict").get<std::string>()];
    accepted = by_verdict["accept"];
    // A program of an object our loader refuses as a whole is covered by the object's bad-input record.
    for (const auto& key : reference_keys())
        EXPECT_TRUE(keys.contains(key) || keys.contains({std::get<0>(key), "", ""}))
            << std::get<0>(key) << " " << std::get<2>(key) << " lost";
    EXPECT_EQ(by_verdict["crashed"], 0u);
    EXPECT_EQ(by_verdict["timeout"], 0u);
    EXPECT_EQ(by_verdict["out-of-memory"], 0u);
    // The analyzer's agreement test enforces the verdicts; here, that the run carries them through.
    EXPECT_GE(accepted, 255u);
    const std::string summary = std::to_string(records.size()) + " programs in ";
    EXPECT_NE(run.output.find(summary), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(std::to_string(accepted) + " accept, "), std::string::npos) << run.output;
}

// The same with --kernel (about a minute on 2 cores): the kernel's verdicts
// agree with kernel-verdicts.csv, and ours with the kernel's as the analyzer's
// agreement test requires. Only with BPFVET_SLOW_TESTS=1.
TEST(CorpusCommandShared, KernelVerdictsOfTheSharedCorpus) {
    if (!std::getenv("BPFVET_SLOW_TESTS")) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
    if (!std::filesystem::exists(shared_verdicts())) GTEST_SKIP() << "no " << shared_verdicts();
    TemporaryDirectory directory;
    const auto results = directory.path() / "shared.jsonl";
    CliResult run = run_cli("corpus " + quote(shared_samples()) + " --jobs 2 --kernel --types-from " +
                            quote(shared_verdicts()) + " --out " + quote(results));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("kernel agreement"), std::string::npos) << run.output;
    const auto records = read_json_lines(results);
    size_t decided = 0, agree = 0;
    for (const auto& record : records) {
        if (!record.contains("kernel_verdict")) continue;
        if (record.at("kernel_verdict") == "unavailable") GTEST_SKIP() << "the kernel refuses bpf(2) here";
        const bool both = (record.at("verdict") == "accept" || record.at("verdict") == "reject") &&
                          (record.at("kernel_verdict") == "accept" || record.at("kernel_verdict") == "reject");
        decided += both;
        agree += both && record.at("verdict") == record.at("kernel_verdict");
    }
    ASSERT_GT(decided, 250u);
    EXPECT_GE(double(agree) / double(decided), 0.95) << agree << " of " << decided;
}

}  // namespace
}  // namespace bpfvet::test
