// `bpfvet compare`: hand-written runs with known differences, every format,
// the filters, the exit code, and two real runs that differ by an option.
#include "corpus_test_support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace bpfvet::test {
namespace {

// A record whose CPU time equals its wall time and whose predicted processed
// count equals its steps.
std::string record(const std::string& file, const std::string& program, const std::string& verdict, double seconds,
                   int steps, int insns) {
    return nlohmann::json{{"file", file},          {"section", "s"},        {"program", program},
                          {"type", "xdp"},         {"verdict", verdict},    {"seconds", seconds},
                          {"cpu_seconds", seconds}, {"steps", steps},        {"processed_insns", steps},
                          {"peak_states", 7},      {"insn_count", insns},   {"peak_kib", 1000},
                          {"error_code", verdict == "reject" ? "null-dereference" : ""}}
               .dump() +
           "\n";
}

// run_cli merges stderr into the output; the JSON document is the part in braces.
nlohmann::json json_part(const std::string& output) {
    const size_t first = output.find('{'), last = output.rfind('}');
    if (first == std::string::npos || last == std::string::npos) return nullptr;
    return nlohmann::json::parse(output.substr(first, last - first + 1));
}

class CompareCommand : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(directory_.path().empty());
        // A: faster p1, p2 rejected, p3 accepted, p4 only here.
        std::ofstream(a()) << record("cilium/x.o", "p1", "accept", 0.1, 100, 10) << record("cilium/x.o", "p2", "reject", 0.2, 200, 20)
                           << record("linux/y.o", "p3", "accept", 0.2, 300, 30) << record("linux/y.o", "p4", "accept", 0.1, 10, 5);
        // B: p1 twice as slow with 50% more states, p2 now accepted, p3 now rejected, p5 new.
        std::ofstream(b()) << record("cilium/x.o", "p1", "accept", 0.2, 150, 10) << record("cilium/x.o", "p2", "accept", 0.2, 200, 20)
                           << record("linux/y.o", "p3", "reject", 0.2, 300, 30) << record("linux/y.o", "p5", "accept", 0.1, 10, 5);
    }
    std::string a() const { return (directory_.path() / "a.jsonl").string(); }
    std::string b() const { return (directory_.path() / "b.jsonl").string(); }
    CliResult compare(const std::string& extra) const { return run_cli("compare " + a() + " " + b() + " " + extra); }
    nlohmann::json compare_json(const std::string& extra) const {
        return json_part(run_cli("compare " + a() + " " + b() + " --format json " + extra).output);
    }

    TemporaryDirectory directory_;
};

TEST_F(CompareCommand, ListsVerdictChangesFirstAndFailsOnAcceptToReject) {
    CliResult result = compare("");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    const size_t p2 = result.output.find("reject -> accept"), p3 = result.output.find("accept -> reject");
    const size_t p1 = result.output.find(" p1 ");
    ASSERT_NE(p2, std::string::npos) << result.output;
    ASSERT_NE(p3, std::string::npos) << result.output;
    ASSERT_NE(p1, std::string::npos) << result.output;
    EXPECT_LT(std::max(p2, p3), p1) << "verdict changes come first\n" << result.output;
    EXPECT_NE(result.output.find("accept -> -"), std::string::npos) << "p4 is missing from B\n" << result.output;
    EXPECT_NE(result.output.find("- -> accept"), std::string::npos) << "p5 is new in B\n" << result.output;
    EXPECT_NE(result.output.find("+100.0%"), std::string::npos) << "p1's CPU time doubled\n" << result.output;
    EXPECT_NE(result.output.find("+50.0%"), std::string::npos) << "p1's processed instructions grew by half\n" << result.output;
    EXPECT_NE(result.output.find("accept -> reject (null-dereference)"), std::string::npos)
        << "a changed verdict names the new error\n" << result.output;
    EXPECT_NE(result.output.find("cpu ms A"), std::string::npos) << "CPU time by default\n" << result.output;
    EXPECT_EQ(result.output.find("time ms A"), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("kernel processed"), std::string::npos) << "no kernel counts in these runs\n" << result.output;
    EXPECT_NE(result.output.find("3 programs compared (5 shown of 5): 2 verdict changes (1 from accept, 1 to accept), "
                                 "1 missing from B, 1 new in B"),
              std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("accepted in A are not accepted in B"), std::string::npos);
}

TEST_F(CompareCommand, JsonCarriesDeltasPercentagesAndTotals) {
    auto json = compare_json("");
    ASSERT_EQ(json["programs"].size(), 5u);
    EXPECT_EQ(json["programs"][0]["status"], "changed");
    EXPECT_EQ(json["programs"][1]["status"], "changed");
    EXPECT_EQ(json["programs"][2]["status"], "missing");
    EXPECT_EQ(json["programs"][3]["status"], "new");
    const auto& p1 = json["programs"][4];
    EXPECT_EQ(p1["program"], "p1");
    EXPECT_NEAR(p1["time_diff"].get<double>(), 0.1, 1e-9);
    EXPECT_NEAR(p1["time_pct"].get<double>(), 100.0, 1e-9);
    EXPECT_NEAR(p1["steps_pct"].get<double>(), 50.0, 1e-9);
    EXPECT_EQ(p1["insns_pct"].get<double>(), 0.0);
    EXPECT_TRUE(json["programs"][2]["time_b"].is_null()) << "nothing on the missing side";
    const auto& totals = json["totals"];
    EXPECT_EQ(totals["compared"], 3);
    EXPECT_EQ(totals["verdict_changes"], 2);
    EXPECT_EQ(totals["accept_to_other"], 1);
    EXPECT_EQ(totals["other_to_accept"], 1);
    EXPECT_EQ(totals["missing"], 1);
    EXPECT_EQ(totals["new"], 1);
    EXPECT_NEAR(totals["metrics"]["time"]["a"].get<double>(), 0.5, 1e-9);
    EXPECT_NEAR(totals["metrics"]["time"]["b"].get<double>(), 0.6, 1e-9);
    EXPECT_NEAR(totals["metrics"]["time"]["pct"].get<double>(), 20.0, 1e-9);
    EXPECT_NEAR(totals["metrics"]["steps"]["diff"].get<double>(), 50, 1e-9);
}

TEST_F(CompareCommand, FiltersSelectRowsAndAreAnded) {
    auto names = [&](const std::string& filters) {
        std::vector<std::string> programs;
        const nlohmann::json json = compare_json(filters);
        for (const auto& row : json["programs"]) programs.push_back(row["program"]);
        return programs;
    };
    EXPECT_EQ(names("--filter verdict_changed"), (std::vector<std::string>{"p2", "p3"}));
    EXPECT_EQ(names("--filter 'time_pct>10'"), (std::vector<std::string>{"p1"}));
    EXPECT_EQ(names("--filter 'steps_pct<=0'"), (std::vector<std::string>{"p2", "p3"}));
    EXPECT_EQ(names("--filter 'file=cilium/*'"), (std::vector<std::string>{"p2", "p1"}));
    EXPECT_EQ(names("--filter 'file=cilium/*' --filter verdict_changed"), (std::vector<std::string>{"p2"}));
    EXPECT_EQ(names("--filter verdict_b!=accept"), (std::vector<std::string>{"p3", "p4"}));
    EXPECT_EQ(names("--filter status=missing"), (std::vector<std::string>{"p4"}));
    EXPECT_EQ(names("--filter steps_diff=50"), (std::vector<std::string>{"p1"}));
    EXPECT_EQ(names("--filter 'program=p[45]'"), (std::vector<std::string>{"p4", "p5"}));
}

TEST_F(CompareCommand, ExitCodeFollowsTheShownRows) {
    EXPECT_EQ(compare("--filter 'file=cilium/*'").exit_code, 0) << "the regression (p3) is filtered out";
    EXPECT_EQ(compare("--filter 'file=linux/*'").exit_code, 1);
    EXPECT_EQ(run_cli("compare " + a() + " " + a()).exit_code, 0) << "a run against itself";
}

TEST_F(CompareCommand, CsvAndMarkdown) {
    CliResult csv = compare("--format csv --columns time,steps,insns 2>/dev/null");
    std::istringstream lines(csv.output);
    std::string header;
    do std::getline(lines, header);  // past the regression note from stderr
    while (header.starts_with("bpfvet compare:"));
    EXPECT_EQ(header, "file,section,program,status,verdict_a,verdict_b,error_code,time_a,time_b,time_diff,time_pct,steps_a,steps_b,"
                      "steps_diff,steps_pct,insns_a,insns_b,insns_diff,insns_pct");
    std::string first;
    do std::getline(lines, first);
    while (first.starts_with("bpfvet compare:"));
    EXPECT_TRUE(first.starts_with("cilium/x.o,s,p2,changed,reject,accept,,")) << first;

    CliResult markdown = compare("--format markdown");
    EXPECT_NE(markdown.output.find("| file | section | program | verdict |"), std::string::npos) << markdown.output;
    EXPECT_NE(markdown.output.find("| ---: |"), std::string::npos);
    EXPECT_NE(markdown.output.find("| total |"), std::string::npos);
}

TEST_F(CompareCommand, SortsByAnyFieldAndChoosesColumns) {
    auto names = [&](const std::string& options) {
        std::vector<std::string> programs;
        const nlohmann::json json = compare_json(options);  // kept alive for the loop
        for (const auto& row : json["programs"]) programs.push_back(row["program"]);
        return programs;
    };
    EXPECT_EQ(names("--sort steps_b:desc"), (std::vector<std::string>{"p3", "p2", "p1", "p5", "p4"}))
        << "descending, the program without a B value last";
    EXPECT_EQ(names("--sort steps_b"), (std::vector<std::string>{"p5", "p1", "p2", "p3", "p4"}));
    EXPECT_EQ(names("--sort program:desc"), (std::vector<std::string>{"p5", "p4", "p3", "p2", "p1"}));
    CliResult table = compare("--columns mem,states");
    EXPECT_NE(table.output.find("mem KiB A"), std::string::npos) << table.output;
    EXPECT_NE(table.output.find("peak states A"), std::string::npos) << table.output;
    EXPECT_EQ(table.output.find("cpu ms"), std::string::npos) << table.output;
    CliResult bad_sort = compare("--sort colour");
    EXPECT_EQ(bad_sort.exit_code, 2);
    EXPECT_NE(bad_sort.output.find("unknown field 'colour'"), std::string::npos) << bad_sort.output;
    CliResult bad_column = compare("--columns speed");
    EXPECT_EQ(bad_column.exit_code, 2);
    EXPECT_NE(bad_column.output.find("unknown metric 'speed'"), std::string::npos) << bad_column.output;
}

TEST_F(CompareCommand, ShowsTheKernelsCountBesideOurPrediction) {
    auto with_kernel = [](std::string line, int kernel_processed) {
        auto json = nlohmann::json::parse(line);
        json["kernel_verdict"] = "accept";
        json["kernel_processed_insns"] = kernel_processed;
        return json.dump() + "\n";
    };
    std::ofstream(a()) << with_kernel(record("cilium/x.o", "p1", "accept", 0.1, 100, 10), 90);
    std::ofstream(b()) << with_kernel(record("cilium/x.o", "p1", "accept", 0.1, 120, 10), 90);
    CliResult table = compare("");
    EXPECT_NE(table.output.find("kernel processed A"), std::string::npos) << table.output;
    const auto json = compare_json("");
    EXPECT_EQ(json["programs"][0]["kernel_processed_b"].get<double>(), 90);
    EXPECT_EQ(json["programs"][0]["processed_b"].get<double>(), 120);
    EXPECT_EQ(json["programs"][0]["states_b"].get<double>(), 7);
}

TEST_F(CompareCommand, BadInputIsExitCodeTwo) {
    CliResult unknown = compare("--filter 'colour=blue'");
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("unknown field 'colour'"), std::string::npos) << unknown.output;
    CliResult not_number = compare("--filter 'time_pct>fast'");
    EXPECT_EQ(not_number.exit_code, 2);
    EXPECT_NE(not_number.output.find("not a number"), std::string::npos) << not_number.output;
    CliResult absent = run_cli("compare " + a() + " " + (directory_.path() / "absent.jsonl").string());
    EXPECT_EQ(absent.exit_code, 2);
    EXPECT_NE(absent.output.find("no such file"), std::string::npos) << absent.output;
    EXPECT_EQ(compare("--format yaml").exit_code, 2);
}

// Two real runs of the same objects that differ by --unprivileged: the
// pointer leak is accepted for root and rejected otherwise.
TEST(CompareRuns, UnprivilegedRulesShowAsAnAcceptToReject) {
    TemporaryDirectory directory;
    ASSERT_FALSE(directory.path().empty());
    const auto samples = directory.path() / "samples";
    if (!make_fixture(samples)) GTEST_SKIP() << "corpus objects not built (target bpfvet_corpus)";
    const auto privileged = directory.path() / "root.jsonl", unprivileged = directory.path() / "user.jsonl";
    ASSERT_EQ(run_cli("corpus " + quote(samples / "bad") + " --jobs 2 --out " + quote(privileged)).exit_code, 0);
    ASSERT_EQ(run_cli("corpus " + quote(samples / "bad") + " --jobs 2 --unprivileged --out " + quote(unprivileged)).exit_code, 0);
    CliResult result = run_cli("compare " + quote(privileged) + " " + quote(unprivileged) + " --format json");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("different options: unprivileged false in A, true in B"), std::string::npos)
        << result.output;
    auto json = json_part(result.output);
    ASSERT_EQ(json["programs"].size(), 2u);
    EXPECT_EQ(json["programs"][0]["program"], "socket_pointer_leak");
    EXPECT_EQ(json["programs"][0]["status"], "changed");
    EXPECT_EQ(json["programs"][0]["verdict_a"], "accept");
    EXPECT_EQ(json["programs"][0]["verdict_b"], "reject");
    EXPECT_EQ(json["programs"][1]["status"], "same") << "the null dereference is rejected either way";
    EXPECT_EQ(json["totals"]["accept_to_other"], 1);
}

}  // namespace
}  // namespace bpfvet::test
