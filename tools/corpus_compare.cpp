#include "tools/corpus_compare.hpp"

#include <algorithm>
#include <charconv>
#include <fnmatch.h>
#include <map>

namespace bpfvet::tools::corpus {

std::string ComparedProgram::status() const {
    if (!b) return "missing";
    if (!a) return "new";
    return a->verdict == b->verdict ? "same" : "changed";
}

bool ComparedProgram::regressed() const { return a && b && a->verdict == VerdictAccept && b->verdict != VerdictAccept; }

std::vector<ComparedProgram> join_runs(const std::vector<CorpusRecord>& a, const std::vector<CorpusRecord>& b) {
    std::map<ProgramKey, ComparedProgram> joined;
    for (const auto& record : a) {
        auto& entry = joined[record.key];
        entry.key = record.key;
        entry.a = record;
    }
    for (const auto& record : b) {
        auto& entry = joined[record.key];
        entry.key = record.key;
        entry.b = record;
    }
    std::vector<ComparedProgram> programs;
    for (auto& [key, program] : joined) programs.push_back(std::move(program));
    auto group = [](const ComparedProgram& p) {
        const std::string status = p.status();
        return status == "changed" ? 0 : status == "missing" ? 1 : status == "new" ? 2 : 3;
    };
    std::ranges::stable_sort(programs, {}, group);  // the map already gave key order
    return programs;
}

namespace {

std::optional<double> metric_of(const CorpusRecord& record, std::string_view metric) {
    if (metric == "time") return record.seconds;
    if (metric == "cpu") return record.cpu_seconds;
    if (metric == "steps") return double(record.steps);
    if (metric == "insns") return double(record.insn_count);
    if (metric == "mem") return record.peak_kib ? std::optional<double>(double(*record.peak_kib)) : std::nullopt;
    // Records written before these were counted have none: nothing, not 0.
    if (metric == "processed") return record.processed_insns ? std::optional<double>(double(record.processed_insns)) : std::nullopt;
    if (metric == "states") return record.processed_insns ? std::optional<double>(double(record.peak_states)) : std::nullopt;
    if (metric == "kernel_processed")
        return record.kernel && record.kernel->processed_insns ? std::optional<double>(double(*record.kernel->processed_insns))
                                                               : std::nullopt;
    return std::nullopt;
}

FieldValue number_or_nothing(std::optional<double> value) {
    return value ? FieldValue(*value) : FieldValue(std::monostate{});
}

FieldValue text_or_nothing(const std::optional<CorpusRecord>& record, std::string CorpusRecord::*member) {
    return record ? FieldValue((*record).*member) : FieldValue(std::monostate{});
}

// "time_pct" -> {"time", "pct"}; {"", ""} when the name is not a metric field.
std::pair<std::string_view, std::string_view> split_metric_field(std::string_view name) {
    for (std::string_view metric : Metrics) {
        if (!name.starts_with(metric) || name.size() <= metric.size() || name[metric.size()] != '_') continue;
        std::string_view part = name.substr(metric.size() + 1);
        if (part == "a" || part == "b" || part == "diff" || part == "pct") return {metric, part};
    }
    return {"", ""};
}

constexpr std::string_view TextFields[] = {"file",      "section",   "program",         "type",       "status",
                                           "verdict",   "verdict_a", "verdict_b",       "error_code", "kernel_verdict",
                                           "verdict_changed"};

}  // namespace

bool is_known_field(std::string_view name) {
    return std::ranges::find(TextFields, name) != std::end(TextFields) || !split_metric_field(name).first.empty() ||
           std::ranges::find(Metrics, name) != std::end(Metrics);
}

FieldValue field_of(const ComparedProgram& program, std::string_view name) {
    const auto& latest = program.b ? program.b : program.a;
    if (name == "file") return program.key.file;
    if (name == "section") return program.key.section;
    if (name == "program") return program.key.program;
    if (name == "status") return program.status();
    if (name == "verdict_changed") return std::string(program.verdict_changed() ? "true" : "false");
    if (name == "type") return text_or_nothing(latest, &CorpusRecord::type);
    if (name == "verdict") return text_or_nothing(latest, &CorpusRecord::verdict);
    if (name == "verdict_a") return text_or_nothing(program.a, &CorpusRecord::verdict);
    if (name == "verdict_b") return text_or_nothing(program.b, &CorpusRecord::verdict);
    if (name == "error_code") return text_or_nothing(latest, &CorpusRecord::error_code);
    if (name == "kernel_verdict")
        return latest && latest->kernel ? FieldValue(latest->kernel->verdict) : FieldValue(std::monostate{});
    // A bare metric name is B's value (A's when B lacks the program), like "verdict".
    if (std::ranges::find(Metrics, name) != std::end(Metrics))
        return latest ? number_or_nothing(metric_of(*latest, name)) : FieldValue(std::monostate{});
    auto [metric, part] = split_metric_field(name);
    if (metric.empty()) return std::monostate{};
    const std::optional<double> a = program.a ? metric_of(*program.a, metric) : std::nullopt;
    const std::optional<double> b = program.b ? metric_of(*program.b, metric) : std::nullopt;
    if (part == "a") return number_or_nothing(a);
    if (part == "b") return number_or_nothing(b);
    if (!a || !b) return std::monostate{};
    if (part == "diff") return *b - *a;
    if (*a == 0) return *b == 0 ? FieldValue(0.0) : FieldValue(std::monostate{});
    return 100.0 * (*b - *a) / *a;
}

std::expected<Filter, std::string> parse_filter(std::string_view text) {
    const size_t at = text.find_first_of("!=<>");
    Filter filter;
    if (at == std::string_view::npos) {
        filter.field = text;
        filter.operation = "true";
    } else {
        filter.field = text.substr(0, at);
        for (std::string_view operation : {"!=", ">=", "<=", "=", ">", "<"}) {
            if (text.substr(at).starts_with(operation)) {
                filter.operation = operation;
                break;
            }
        }
        if (filter.operation.empty()) return std::unexpected("--filter '" + std::string(text) + "': no operator (=, !=, >, >=, <, <=)");
        filter.operand = text.substr(at + filter.operation.size());
    }
    if (!is_known_field(filter.field))
        return std::unexpected("--filter '" + std::string(text) + "': unknown field '" + filter.field +
                               "' (fields: file, section, program, type, status, verdict, verdict_a, verdict_b, "
                               "verdict_changed, error_code, kernel_verdict, and time, cpu, steps, insns, mem, processed, states, "
                               "kernel_processed with _a, _b, _diff, _pct)");
    if (filter.operation != "=" && filter.operation != "!=" && filter.operation != "true") {
        const char* end = filter.operand.data() + filter.operand.size();
        auto [stop, error] = std::from_chars(filter.operand.data(), end, filter.number);
        if (error != std::errc() || stop != end || filter.operand.empty())
            return std::unexpected("--filter '" + std::string(text) + "': '" + filter.operand + "' is not a number");
    }
    return filter;
}

namespace {

std::string as_text(const FieldValue& value) {
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    if (const auto* number = std::get_if<double>(&value)) {
        char buffer[64];
        auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, *number);
        return std::string(buffer, end);
    }
    return "";
}

// `=` compares numbers as numbers when both sides are ("steps_diff=0"),
// anything else as a shell glob ("file=cilium/*").
bool equals(const FieldValue& value, const std::string& operand) {
    if (const auto* number = std::get_if<double>(&value)) {
        double wanted = 0;
        auto [end, error] = std::from_chars(operand.data(), operand.data() + operand.size(), wanted);
        if (error == std::errc() && end == operand.data() + operand.size() && !operand.empty()) return *number == wanted;
    }
    if (std::holds_alternative<std::monostate>(value)) return operand.empty();
    return fnmatch(operand.c_str(), as_text(value).c_str(), 0) == 0;
}

}  // namespace

bool matches(const ComparedProgram& program, const Filter& filter) {
    const FieldValue value = field_of(program, filter.field);
    if (filter.operation == "true") return as_text(value) == "true";
    if (filter.operation == "=") return equals(value, filter.operand);
    if (filter.operation == "!=") return !equals(value, filter.operand);
    const auto* number = std::get_if<double>(&value);
    if (!number) return false;  // a missing number satisfies no comparison
    if (filter.operation == ">") return *number > filter.number;
    if (filter.operation == ">=") return *number >= filter.number;
    if (filter.operation == "<") return *number < filter.number;
    return *number <= filter.number;
}

}  // namespace bpfvet::tools::corpus
