// tools/check_report.hpp: escaping and each CI format on made-up reports, then
// `bpfvet check --format sarif|github|junit` on an accepting and a rejecting
// program of our corpus (build/corpus, verdicts from corpus/manifest.json).
//
// SARIF is checked against the rules of the SARIF 2.1.0 JSON schema (OASIS)
// for every object we emit: required properties, property types, enums,
// minimums (1-based lines and columns), and no property the schema does not
// define (the schema closes every object with additionalProperties: false).
// The schema itself is not vendored: its OASIS licence terms are not an
// open-source licence we can ship under, and Debian's nlohmann-json has no
// schema validator, so the rules are written out below.
#include "cli_runner.hpp"
#include "tools/check_report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

namespace bpfvet::test {
namespace {

using nlohmann::json;
using tools::ProgramReport;

// ---------------------------------------------------------------- SARIF rules

// The SARIF 2.1.0 schema's rules for the object kinds bpfvet writes.
struct SarifObjectRule {
    std::set<std::string> allowed;   // "properties" of the definition
    std::set<std::string> required;  // "required"
    std::vector<std::set<std::string>> any_of_required;  // "anyOf": [{required: [...]}, ...]
};

const std::map<std::string, SarifObjectRule>& sarif_rules() {
    static const std::map<std::string, SarifObjectRule> rules = {
        {"sarifLog", {{"$schema", "version", "runs", "inlineExternalProperties", "properties"}, {"version", "runs"}, {}}},
        {"run",
         {{"tool", "invocations", "conversion", "language", "versionControlProvenance", "originalUriBaseIds", "artifacts",
           "logicalLocations", "graphs", "results", "automationDetails", "runAggregates", "baselineGuid", "redactionTokens",
           "defaultEncoding", "defaultSourceLanguage", "newlineSequences", "columnKind", "externalPropertyFileReferences",
           "threadFlowLocations", "taxonomies", "addresses", "translations", "policies", "webRequests", "webResponses",
           "specialLocations", "properties"},
          {"tool"},
          {}}},
        {"tool", {{"driver", "extensions", "properties"}, {"driver"}, {}}},
        {"toolComponent",
         {{"guid", "name", "organization", "product", "productSuite", "shortDescription", "fullDescription", "fullName",
           "version", "semanticVersion", "dottedQuadFileVersion", "releaseDateUtc", "downloadUri", "informationUri",
           "globalMessageStrings", "notifications", "rules", "taxa", "locations", "language", "contents", "isComprehensive",
           "localizedDataSemanticVersion", "minimumRequiredLocalizedDataSemanticVersion", "associatedComponent",
           "translationMetadata", "supportedTaxonomies", "properties"},
          {"name"},
          {}}},
        {"reportingDescriptor",
         {{"id", "deprecatedIds", "guid", "deprecatedGuids", "name", "deprecatedNames", "shortDescription", "fullDescription",
           "messageStrings", "defaultConfiguration", "helpUri", "help", "relationships", "properties"},
          {"id"},
          {}}},
        {"reportingConfiguration", {{"enabled", "level", "rank", "parameters", "properties"}, {}, {}}},
        {"multiformatMessageString", {{"text", "markdown", "properties"}, {"text"}, {}}},
        {"message", {{"text", "markdown", "id", "arguments", "properties"}, {}, {{"text"}, {"id"}}}},
        {"artifact",
         {{"description", "location", "parentIndex", "offset", "length", "roles", "mimeType", "contents", "encoding",
           "sourceLanguage", "hashes", "lastModifiedTimeUtc", "properties"},
          {},
          {}}},
        {"artifactLocation", {{"uri", "uriBaseId", "index", "description", "properties"}, {}, {}}},
        {"artifactContent", {{"text", "binary", "rendered", "properties"}, {}, {}}},
        {"result",
         {{"ruleId", "ruleIndex", "rule", "kind", "level", "message", "analysisTarget", "locations", "guid", "correlationGuid",
           "occurrenceCount", "partialFingerprints", "fingerprints", "stacks", "codeFlows", "graphs", "graphTraversals",
           "relatedLocations", "suppressions", "baselineState", "rank", "attachments", "hostedViewerUri", "workItemUris",
           "provenance", "fixes", "taxa", "webRequest", "webResponse", "properties"},
          {"message"},
          {}}},
        {"location", {{"id", "physicalLocation", "logicalLocations", "message", "annotations", "relationships", "properties"}, {}, {}}},
        {"physicalLocation",
         {{"address", "artifactLocation", "region", "contextRegion", "properties"}, {}, {{"address"}, {"artifactLocation"}}}},
        {"region",
         {{"startLine", "startColumn", "endLine", "endColumn", "charOffset", "charLength", "byteOffset", "byteLength", "snippet",
           "message", "sourceLanguage", "properties"},
          {},
          {{"startLine"}, {"charOffset"}, {"byteOffset"}}}},
        {"logicalLocation", {{"name", "index", "fullyQualifiedName", "decoratedName", "parentIndex", "kind", "properties"}, {}, {}}},
        {"codeFlow", {{"message", "threadFlows", "properties"}, {"threadFlows"}, {}}},
        {"threadFlow", {{"id", "message", "initialState", "immutableState", "locations", "properties"}, {"locations"}, {}}},
        {"threadFlowLocation",
         {{"index", "location", "stack", "kinds", "taxa", "module", "state", "nestingLevel", "executionOrder",
           "executionTimeUtc", "importance", "webRequest", "webResponse", "properties"},
          {},
          {}}},
    };
    return rules;
}

const std::set<std::string> SarifLevels = {"none", "note", "warning", "error"};
const std::set<std::string> SarifResultKinds = {"notApplicable", "pass", "fail", "review", "open", "informational"};

// Collects every violation of the SARIF rules with its JSON path.
class SarifChecker {
public:
    std::vector<std::string> problems;

    void log(const json& value) {
        object(value, "sarifLog", "$");
        if (!value.is_object()) return;
        if (value.value("version", "") != "2.1.0") fail("$.version", "must be \"2.1.0\"");
        string_if_present(value, "$schema", "$");
        if (!value.contains("runs") || !value["runs"].is_array()) return fail("$.runs", "must be an array");
        for (size_t i = 0; i < value["runs"].size(); ++i) run(value["runs"][i], at("$.runs", i));
    }

private:
    static std::string at(const std::string& path, size_t index) { return path + "[" + std::to_string(index) + "]"; }
    void fail(const std::string& path, const std::string& what) { problems.push_back(path + ": " + what); }

    // Type, allowed and required properties of one object.
    bool object(const json& value, const std::string& kind, const std::string& path) {
        if (!value.is_object()) {
            fail(path, kind + " must be an object");
            return false;
        }
        const auto& rule = sarif_rules().at(kind);
        for (const auto& [key, item] : value.items())
            if (!rule.allowed.contains(key)) fail(path + "." + key, "not a property of " + kind);
        for (const auto& key : rule.required)
            if (!value.contains(key)) fail(path, kind + " requires " + key);
        if (!rule.any_of_required.empty()) {
            bool any = std::ranges::any_of(rule.any_of_required, [&](const auto& keys) {
                return std::ranges::all_of(keys, [&](const std::string& key) { return value.contains(key); });
            });
            if (!any) fail(path, kind + " needs one of its anyOf required properties");
        }
        if (value.contains("properties") && !value["properties"].is_object()) fail(path + ".properties", "must be an object");
        return true;
    }

    void string_if_present(const json& value, const std::string& key, const std::string& path) {
        if (value.contains(key) && !value[key].is_string()) fail(path + "." + key, "must be a string");
    }
    void integer_at_least(const json& value, const std::string& key, int64_t minimum, const std::string& path) {
        if (!value.contains(key)) return;
        if (!value[key].is_number_integer()) return fail(path + "." + key, "must be an integer");
        if (value[key].get<int64_t>() < minimum) fail(path + "." + key, "must be >= " + std::to_string(minimum));
    }
    template <typename Each>
    void array(const json& value, const std::string& key, const std::string& path, Each each, bool unique = false) {
        if (!value.contains(key)) return;
        if (!value[key].is_array()) return fail(path + "." + key, "must be an array");
        for (size_t i = 0; i < value[key].size(); ++i) each(value[key][i], at(path + "." + key, i));
        if (unique) {
            std::set<std::string> seen;
            for (const auto& item : value[key])
                if (!seen.insert(item.dump()).second) fail(path + "." + key, "items must be unique");
        }
    }

    void message(const json& value, const std::string& path) {
        if (!object(value, "message", path)) return;
        string_if_present(value, "text", path);
    }
    void multiformat(const json& value, const std::string& path) {
        if (!object(value, "multiformatMessageString", path)) return;
        string_if_present(value, "text", path);
    }
    void artifact_location(const json& value, const std::string& path) {
        if (!object(value, "artifactLocation", path)) return;
        string_if_present(value, "uri", path);
        // format uri-reference: no spaces or other characters RFC 3986 leaves out.
        if (value.contains("uri") && value["uri"].is_string() &&
            !std::regex_match(value["uri"].get<std::string>(), std::regex("[A-Za-z0-9\\-._~:/?#\\[\\]@!$&'()*+,;=%]*")))
            fail(path + ".uri", "not a URI reference");
    }
    void region(const json& value, const std::string& path) {
        if (!object(value, "region", path)) return;
        for (const char* key : {"startLine", "startColumn", "endLine", "endColumn"}) integer_at_least(value, key, 1, path);
        if (value.contains("snippet") && object(value["snippet"], "artifactContent", path + ".snippet"))
            string_if_present(value["snippet"], "text", path + ".snippet");
    }
    void logical_location(const json& value, const std::string& path) {
        if (!object(value, "logicalLocation", path)) return;
        for (const char* key : {"name", "fullyQualifiedName", "kind"}) string_if_present(value, key, path);
    }
    void location(const json& value, const std::string& path) {
        if (!object(value, "location", path)) return;
        integer_at_least(value, "id", -1, path);
        if (value.contains("message")) message(value["message"], path + ".message");
        if (value.contains("physicalLocation")) {
            const auto& physical = value["physicalLocation"];
            const std::string physical_path = path + ".physicalLocation";
            if (object(physical, "physicalLocation", physical_path)) {
                if (physical.contains("artifactLocation")) artifact_location(physical["artifactLocation"], physical_path + ".artifactLocation");
                if (physical.contains("region")) region(physical["region"], physical_path + ".region");
            }
        }
        array(value, "logicalLocations", path, [&](const json& item, const std::string& p) { logical_location(item, p); }, true);
    }
    void code_flow(const json& value, const std::string& path) {
        if (!object(value, "codeFlow", path)) return;
        if (value.contains("message")) message(value["message"], path + ".message");
        if (value.contains("threadFlows") && value["threadFlows"].empty()) fail(path + ".threadFlows", "needs at least one item");
        array(value, "threadFlows", path, [&](const json& flow, const std::string& p) {
            if (!object(flow, "threadFlow", p)) return;
            if (flow.contains("message")) message(flow["message"], p + ".message");
            if (flow.contains("locations") && flow["locations"].empty()) fail(p + ".locations", "needs at least one item");
            array(flow, "locations", p, [&](const json& step, const std::string& q) {
                if (!object(step, "threadFlowLocation", q)) return;
                if (step.contains("location")) location(step["location"], q + ".location");
                integer_at_least(step, "nestingLevel", 0, q);
                integer_at_least(step, "executionOrder", -1, q);
                if (step.contains("importance") && step["importance"] != "important" && step["importance"] != "essential" &&
                    step["importance"] != "unimportant")
                    fail(q + ".importance", "not an importance");
            });
        });
    }
    void rule(const json& value, const std::string& path) {
        if (!object(value, "reportingDescriptor", path)) return;
        string_if_present(value, "id", path);
        for (const char* key : {"shortDescription", "fullDescription", "help"})
            if (value.contains(key)) multiformat(value[key], path + "." + key);
        if (value.contains("defaultConfiguration") &&
            object(value["defaultConfiguration"], "reportingConfiguration", path + ".defaultConfiguration")) {
            const auto& configuration = value["defaultConfiguration"];
            if (configuration.contains("level") && !SarifLevels.contains(configuration["level"].get<std::string>()))
                fail(path + ".defaultConfiguration.level", "not a SARIF level");
        }
    }
    void result(const json& value, const std::string& path, const json& rules) {
        if (!object(value, "result", path)) return;
        string_if_present(value, "ruleId", path);
        integer_at_least(value, "ruleIndex", -1, path);
        if (value.contains("level") && (!value["level"].is_string() || !SarifLevels.contains(value["level"].get<std::string>())))
            fail(path + ".level", "not one of none, note, warning, error");
        if (value.contains("kind") && !SarifResultKinds.contains(value["kind"].get<std::string>())) fail(path + ".kind", "not a result kind");
        if (value.contains("message")) message(value["message"], path + ".message");
        array(value, "locations", path, [&](const json& item, const std::string& p) { location(item, p); });
        array(value, "relatedLocations", path, [&](const json& item, const std::string& p) { location(item, p); }, true);
        array(value, "codeFlows", path, [&](const json& item, const std::string& p) { code_flow(item, p); });
        if (value.contains("partialFingerprints"))
            for (const auto& [key, item] : value["partialFingerprints"].items())
                if (!item.is_string()) fail(path + ".partialFingerprints." + key, "must be a string");
        // §3.27.7: ruleIndex and ruleId name the same rule.
        if (value.contains("ruleIndex") && value.contains("ruleId")) {
            const auto index = value["ruleIndex"].get<int64_t>();
            if (index >= 0 && (size_t(index) >= rules.size() || rules[size_t(index)].value("id", "") != value["ruleId"]))
                fail(path + ".ruleIndex", "does not index the rule named by ruleId");
        }
    }
    void run(const json& value, const std::string& path) {
        if (!object(value, "run", path)) return;
        json rules = json::array();
        if (value.contains("tool") && object(value["tool"], "tool", path + ".tool") && value["tool"].contains("driver")) {
            const auto& driver = value["tool"]["driver"];
            const std::string driver_path = path + ".tool.driver";
            if (object(driver, "toolComponent", driver_path)) {
                string_if_present(driver, "name", driver_path);
                string_if_present(driver, "version", driver_path);
                array(driver, "rules", driver_path, [&](const json& item, const std::string& p) { rule(item, p); }, true);
                if (driver.contains("rules")) rules = driver["rules"];
            }
        }
        array(value, "artifacts", path, [&](const json& item, const std::string& p) {
            if (object(item, "artifact", p) && item.contains("location")) artifact_location(item["location"], p + ".location");
        }, true);
        if (value.contains("columnKind") && value["columnKind"] != "utf16CodeUnits" && value["columnKind"] != "unicodeCodePoints")
            fail(path + ".columnKind", "not a column kind");
        array(value, "results", path, [&](const json& item, const std::string& p) { result(item, p, rules); });
    }
};

std::string sarif_problems(const json& log) {
    SarifChecker checker;
    checker.log(log);
    std::string text;
    for (const auto& problem : checker.problems) text += problem + "\n";
    return text;
}

// ---------------------------------------------------------------- XML well-formedness

// A small well-formedness check of the XML we write: balanced, properly nested
// elements, quoted attributes, only the five predefined entities (and numeric
// ones); counts elements by name.
struct XmlCheck {
    bool well_formed = true;
    std::string problem;
    std::map<std::string, size_t> elements;
    std::vector<std::map<std::string, std::string>> testsuites;  // attributes of each <testsuite>
    std::vector<std::map<std::string, std::string>> testsuites_root;
};

bool valid_entities(std::string_view text) {
    static const std::regex entity("&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
    for (size_t at = text.find('&'); at != std::string_view::npos; at = text.find('&', at + 1)) {
        const std::string rest(text.substr(at, 10));
        if (!std::regex_search(rest, entity, std::regex_constants::match_continuous)) return false;
    }
    return true;
}

XmlCheck check_xml(const std::string& xml) {
    XmlCheck check;
    auto fail = [&](std::string what) {
        if (check.well_formed) check.problem = std::move(what);
        check.well_formed = false;
    };
    std::vector<std::string> open;
    size_t position = 0;
    if (xml.starts_with("<?xml")) position = xml.find("?>") + 2;
    static const std::regex attribute_pattern("\\s+([A-Za-z_:][-A-Za-z0-9_:.]*)=\"([^\"<]*)\"");
    bool seen_root = false;
    while (position < xml.size()) {
        const size_t tag = xml.find('<', position);
        const std::string text = xml.substr(position, tag == std::string::npos ? std::string::npos : tag - position);
        if (!valid_entities(text) || text.find('>') != std::string::npos) fail("bad character data: " + text.substr(0, 40));
        if (open.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) fail("text outside the root element");
        if (tag == std::string::npos) break;
        const size_t end = xml.find('>', tag);
        if (end == std::string::npos) return fail("unterminated tag"), check;
        std::string inside = xml.substr(tag + 1, end - tag - 1);
        position = end + 1;
        if (inside.starts_with("/")) {
            const std::string name = inside.substr(1);
            if (open.empty() || open.back() != name) fail("mismatched </" + name + ">");
            else open.pop_back();
            continue;
        }
        const bool self_closing = inside.ends_with("/");
        if (self_closing) inside.pop_back();
        const size_t name_end = inside.find_first_of(" \t\n");
        const std::string name = inside.substr(0, name_end);
        std::string attributes = name_end == std::string::npos ? "" : inside.substr(name_end);
        std::map<std::string, std::string> values;
        for (std::smatch match; std::regex_search(attributes, match, attribute_pattern, std::regex_constants::match_continuous);
             attributes = match.suffix()) {
            if (!valid_entities(match[2].str())) fail("bad attribute value in <" + name + ">");
            if (!values.emplace(match[1].str(), match[2].str()).second) fail("repeated attribute in <" + name + ">");
        }
        if (attributes.find_first_not_of(" \t\n") != std::string::npos) fail("malformed attributes in <" + name + ">: " + attributes);
        if (open.empty() && seen_root) fail("second root element <" + name + ">");
        seen_root = true;
        ++check.elements[name];
        if (name == "testsuite") check.testsuites.push_back(values);
        if (name == "testsuites") check.testsuites_root.push_back(values);
        if (!self_closing) open.push_back(name);
    }
    if (!open.empty()) fail("unclosed <" + open.back() + ">");
    return check;
}

// ---------------------------------------------------------------- made-up reports

ir::Program sample_program() {
    ir::Program program;
    program.section = "xdp";
    program.name = "filter";
    program.functions.push_back({.name = "filter", .start = 0, .end = 4});
    program.instructions.resize(4);
    program.locations.push_back({"src/odd, name:1.c", 12, 5, "int x = *p;"});
    program.location_of = {-1, -1, 0, 0};
    return program;
}

analyzer::Diagnostic sample_diagnostic(const ir::Program& program) {
    analyzer::Diagnostic diagnostic;
    diagnostic.code = analyzer::ErrorCode::NullDereference;
    diagnostic.pc = 2;
    diagnostic.instruction = "r1 = *(u32 *)(r0 +0)";
    diagnostic.message = "r0 may be null <100%>\nafter the lookup";
    diagnostic.location = *program.location(2);
    return diagnostic;
}

TEST(CheckReportEscaping, GithubMessageAndProperty) {
    EXPECT_EQ(tools::escape_github_message("50%\r\nmore: a,b"), "50%25%0D%0Amore: a,b");
    EXPECT_EQ(tools::escape_github_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    EXPECT_EQ(tools::escape_github_message("plain"), "plain");
}

TEST(CheckReportEscaping, XmlAndUri) {
    EXPECT_EQ(tools::escape_xml("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    EXPECT_EQ(tools::escape_xml(std::string("bell\x07") + "\ttab"), "bell?\ttab");
    EXPECT_EQ(tools::uri_from_path("src/my file,1.c"), "src/my%20file%2C1.c");
    EXPECT_EQ(tools::uri_from_path("/abs/x_y-z.~c"), "file:///abs/x_y-z.~c");
}

TEST(CheckReportEscaping, SourcePathsRelativeToTheRoot) {
    EXPECT_EQ(tools::relative_source_path("/src/repo/bpf/x.c", "/src/repo"), "bpf/x.c");
    EXPECT_EQ(tools::relative_source_path("/src/repo/bpf/x.c", "/src/repo/"), "bpf/x.c");
    EXPECT_EQ(tools::relative_source_path("/src/repository/x.c", "/src/repo"), "/src/repository/x.c");
    EXPECT_EQ(tools::relative_source_path("/other/x.c", "/src/repo"), "/other/x.c");
    EXPECT_EQ(tools::relative_source_path("bpf/x.c", "/src/repo"), "bpf/x.c");
    EXPECT_EQ(tools::relative_source_path("/src/repo/x.c", ""), "/src/repo/x.c");
}

TEST(CheckReport, GithubAnnotationLine) {
    const ir::Program program = sample_program();
    std::vector<ProgramReport> reports(1);
    reports[0].object_path = "build/x.o";
    reports[0].program = &program;
    reports[0].analysis.errors.push_back(sample_diagnostic(program));
    const std::string out = tools::github_report(reports);
    EXPECT_NE(out.find("bpfvet: build/x.o xdp/filter: reject\n"), std::string::npos) << out;
    EXPECT_NE(out.find("::error file=src/odd%2C name%3A1.c,line=12,col=5,title=bpfvet null-dereference::"
                       "xdp/filter: r0 may be null <100%25>%0Aafter the lookup (instruction 2: r1 = *(u32 *)(r0 +0))\n"),
              std::string::npos)
        << out;
}

TEST(CheckReport, GithubWithoutLineInfoNamesTheObject) {
    const ir::Program program = sample_program();
    std::vector<ProgramReport> reports(1);
    reports[0].object_path = "build/x.o";
    reports[0].program = &program;
    auto diagnostic = sample_diagnostic(program);
    diagnostic.location.reset();
    reports[0].analysis.errors.push_back(diagnostic);
    const std::string out = tools::github_report(reports);
    EXPECT_NE(out.find("::error file=build/x.o,title=bpfvet null-dereference::"), std::string::npos) << out;
}

TEST(CheckReport, JunitCountsAndEscapes) {
    const ir::Program program = sample_program();
    std::vector<ProgramReport> reports(2);
    for (auto& report : reports) {
        report.object_path = "build/a&b.o";
        report.program = &program;
    }
    reports[0].analysis.accepted = true;
    reports[1].analysis.errors.push_back(sample_diagnostic(program));
    const std::string xml = tools::junit_report(reports);
    const auto check = check_xml(xml);
    ASSERT_TRUE(check.well_formed) << check.problem << "\n" << xml;
    EXPECT_EQ(check.elements.at("testcase"), 2u);
    EXPECT_EQ(check.elements.at("failure"), 1u);
    ASSERT_EQ(check.testsuites.size(), 1u);
    EXPECT_EQ(check.testsuites[0].at("name"), "build/a&amp;b.o");
    EXPECT_EQ(check.testsuites[0].at("tests"), "2");
    EXPECT_EQ(check.testsuites[0].at("failures"), "1");
    EXPECT_NE(xml.find("type=\"null-dereference\""), std::string::npos);
}

TEST(CheckReport, SarifOfMadeUpReportsFollowsTheSchemaRules) {
    const ir::Program program = sample_program();
    std::vector<ProgramReport> reports(2);
    for (auto& report : reports) {
        report.object_path = "build/x y.o";
        report.program = &program;
    }
    reports[0].analysis.errors.push_back(sample_diagnostic(program));
    auto without_line = sample_diagnostic(program);
    without_line.location.reset();
    without_line.code = analyzer::ErrorCode::PacketOutOfBounds;
    reports[0].analysis.errors.push_back(without_line);
    reports[1].analysis.accepted = true;
    runtime::kernel::KernelLoadResult kernel;
    kernel.verdict = runtime::kernel::KernelVerdict::Reject;
    kernel.first_error_line = "R0 invalid mem access 'map_value_or_null'";
    kernel.error_pc = 3;
    reports[1].kernel = kernel;

    const json log = tools::sarif_report(reports);
    EXPECT_EQ(sarif_problems(log), "") << log.dump(2);
    const auto& results = log["runs"][0]["results"];
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0]["ruleId"], "null-dereference");
    EXPECT_EQ(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "src/odd%2C%20name%3A1.c");
    EXPECT_EQ(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 12);
    EXPECT_EQ(results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "build/x%20y.o");
    EXPECT_EQ(results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "xdp/filter");
    EXPECT_EQ(results[2]["ruleId"], "kernel-verifier");
    EXPECT_EQ(results[2]["level"], "warning");  // we accept, the kernel rejects
    EXPECT_EQ(log["runs"][0]["tool"]["driver"]["rules"].size(), 3u);
}

TEST(CheckReport, TheCheckerFindsBrokenSarif) {
    json log = {{"version", "2.1.0"},
                {"runs", {{{"tool", {{"driver", {{"name", "bpfvet"}}}}},
                           {"results", {{{"level", "fatal"},
                                         {"message", {{"txt", "x"}}},
                                         {"locations", {{{"physicalLocation", {{"region", {{"startLine", 0}}}}}}}}}}}}}}};
    const std::string problems = sarif_problems(log);
    EXPECT_NE(problems.find(".level"), std::string::npos) << problems;
    EXPECT_NE(problems.find("txt: not a property of message"), std::string::npos) << problems;
    EXPECT_NE(problems.find("startLine: must be >= 1"), std::string::npos) << problems;
    EXPECT_NE(problems.find("physicalLocation needs one of"), std::string::npos) << problems;
}

// ---------------------------------------------------------------- the CLI on our corpus

const std::filesystem::path Accepting = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "xdp_parser.o";
const std::filesystem::path Rejecting = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "bad_null_dereference.o";

#define SKIP_WITHOUT_CORPUS()                                                                                      \
    if (!std::filesystem::exists(Accepting) || !std::filesystem::exists(Rejecting))                               \
    GTEST_SKIP() << "corpus not built (target bpfvet_corpus)"

TEST(CheckFormatsCli, SarifFollowsTheSchemaRules) {
    SKIP_WITHOUT_CORPUS();
    auto accepted = run_cli("check " + quote(Accepting) + " --format sarif");
    ASSERT_EQ(accepted.exit_code, 0) << accepted.output;
    const json accepted_log = json::parse(accepted.output);
    EXPECT_EQ(sarif_problems(accepted_log), "");
    EXPECT_TRUE(accepted_log["runs"][0]["results"].empty());

    auto rejected = run_cli("check " + quote(Rejecting) + " --format sarif");
    ASSERT_EQ(rejected.exit_code, 1) << rejected.output;
    const json log = json::parse(rejected.output);
    EXPECT_EQ(sarif_problems(log), "") << log.dump(2);
    const auto& results = log["runs"][0]["results"];
    ASSERT_FALSE(results.empty());
    EXPECT_EQ(results[0]["ruleId"], "null-dereference");  // corpus/manifest.json's error for this program
    EXPECT_EQ(results[0]["level"], "error");
    // Located at the C source from BTF, with the instruction as a related location.
    const auto& physical = results[0]["locations"][0]["physicalLocation"];
    EXPECT_NE(physical["artifactLocation"]["uri"].get<std::string>().find("bad_null_dereference.c"), std::string::npos)
        << physical.dump();
    EXPECT_GE(physical["region"]["startLine"].get<int>(), 1);
    const auto& instruction = results[0]["relatedLocations"][0];
    EXPECT_NE(instruction["message"]["text"].get<std::string>().find("instruction "), std::string::npos);
    // The object file, relative to the working directory when below it (--source-root's default).
    EXPECT_TRUE(instruction["physicalLocation"]["artifactLocation"]["uri"].get<std::string>().ends_with("corpus/bad_null_dereference.o"))
        << instruction.dump();
    const auto& rules = log["runs"][0]["tool"]["driver"]["rules"];
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_FALSE(rules[0]["help"]["text"].get<std::string>().empty());
}

TEST(CheckFormatsCli, GithubAnnotations) {
    SKIP_WITHOUT_CORPUS();
    auto accepted = run_cli("check " + quote(Accepting) + " --format github");
    EXPECT_EQ(accepted.exit_code, 0) << accepted.output;
    EXPECT_EQ(accepted.output.find("::error"), std::string::npos) << accepted.output;
    EXPECT_NE(accepted.output.find(": accept"), std::string::npos) << accepted.output;

    auto rejected = run_cli("check " + quote(Rejecting) + " --format github");
    EXPECT_EQ(rejected.exit_code, 1) << rejected.output;
    static const std::regex annotation("::error file=[^,:]*bad_null_dereference\\.c,line=[1-9][0-9]*(,col=[1-9][0-9]*)?,"
                                       "title=bpfvet null-dereference::[^\\n]+\\n");
    EXPECT_TRUE(std::regex_search(rejected.output, annotation)) << rejected.output;
}

// The causal story: SARIF code flows along the failing path, the cause and its fix in GitHub's message.
const std::filesystem::path NotACopy = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "bad_bound_not_a_copy.o";

TEST(CheckFormatsCli, SarifCodeFlowTellsTheStory) {
    SKIP_WITHOUT_CORPUS();
    auto rejected = run_cli("check " + quote(NotACopy) + " --format sarif");
    ASSERT_EQ(rejected.exit_code, 1) << rejected.output;
    const json log = json::parse(rejected.output);
    EXPECT_EQ(sarif_problems(log), "") << log.dump(2);
    const auto& result = log["runs"][0]["results"][0];
    ASSERT_TRUE(result.contains("codeFlows")) << result.dump(2);
    const auto& flow = result["codeFlows"][0];
    EXPECT_NE(flow["message"]["text"].get<std::string>().find("because the bound was checked on r8"), std::string::npos);
    const auto& steps = flow["threadFlows"][0]["locations"];
    ASSERT_GE(steps.size(), 3u);
    // The path's steps in order, the story's steps essential with their notes, the error last.
    std::vector<std::string> essential;
    for (const auto& step : steps)
        if (step["importance"] == "essential") essential.push_back(step["location"]["message"]["text"]);
    EXPECT_TRUE(std::ranges::any_of(essential, [](const std::string& m) { return m == "bounds r8"; })) << steps.dump(2);
    EXPECT_EQ(steps.back()["properties"]["pc"], result["properties"]["pc"]);
    EXPECT_EQ(result["properties"]["story"]["cause"], "checked-on-copy");
}

TEST(CheckFormatsCli, GithubMessageNamesTheCauseAndTheFix) {
    SKIP_WITHOUT_CORPUS();
    auto rejected = run_cli("check " + quote(NotACopy) + " --format github");
    EXPECT_EQ(rejected.exit_code, 1) << rejected.output;
    EXPECT_NE(rejected.output.find("Because the bound was checked on r8"), std::string::npos) << rejected.output;
    EXPECT_NE(rejected.output.find("Fix: compare the register the access uses (r9)"), std::string::npos) << rejected.output;
}

TEST(CheckFormatsCli, JunitOneTestCasePerProgram) {
    SKIP_WITHOUT_CORPUS();
    for (const auto& [path, exit_code, failures] : {std::tuple{Accepting, 0, 0}, std::tuple{Rejecting, 1, 1}}) {
        auto result = run_cli("check " + quote(path) + " --format junit");
        EXPECT_EQ(result.exit_code, exit_code) << result.output;
        const auto check = check_xml(result.output);
        ASSERT_TRUE(check.well_formed) << check.problem << "\n" << result.output;
        EXPECT_EQ(check.elements.at("testcase"), 1u) << result.output;
        EXPECT_EQ(check.elements.contains("failure") ? check.elements.at("failure") : 0u, size_t(failures));
        ASSERT_EQ(check.testsuites.size(), 1u);
        EXPECT_EQ(check.testsuites[0].at("tests"), "1");
        EXPECT_EQ(check.testsuites[0].at("failures"), std::to_string(failures));
    }
}

TEST(CheckFormatsCli, UnknownFormatIsBadInput) {
    SKIP_WITHOUT_CORPUS();
    EXPECT_EQ(run_cli("check " + quote(Accepting) + " --format yaml").exit_code, 2);
}

}  // namespace
}  // namespace bpfvet::test
