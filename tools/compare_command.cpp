// `bpfvet compare A.jsonl B.jsonl`: veristat-style comparison of two `bpfvet
// corpus` runs (different builds or options): verdict changes first, then the
// per-program differences of time, states explored and instructions with
// percentages, then totals. Filters (tools/corpus_compare.hpp) select rows.
//
// Exit codes: 0 no regression, 1 some shown program went from accept to
// anything else (for CI), 2 bad input or usage. Programs missing from B are
// reported as "missing" but do not fail.
#include "tools/cli_common.hpp"
#include "tools/text_output.hpp"
#include "tools/commands.hpp"
#include "tools/corpus_compare.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

namespace bpfvet::tools {
namespace {

using namespace corpus;

struct CompareOptions {
    std::string a, b;
    std::vector<std::string> filters;
    std::string format = "table";
    std::vector<std::string> columns;  // metrics shown; empty: DefaultColumns
    std::string sort;                  // FIELD or FIELD:desc; empty: changes first, then by key
};

// The metrics shown, with how a value reads in a table: time in ms.
struct MetricColumn {
    std::string_view metric;
    std::string_view title;
    double scale;  // multiplies the stored value for display
    int decimals;
};
constexpr MetricColumn AllColumns[] = {
    {"cpu", "cpu ms", 1000.0, 1},
    {"time", "time ms", 1000.0, 1},
    {"processed", "processed", 1.0, 0},
    {"states", "peak states", 1.0, 0},
    {"kernel_processed", "kernel processed", 1.0, 0},
    {"steps", "steps", 1.0, 0},
    {"insns", "insns", 1.0, 0},
    {"mem", "mem KiB", 1.0, 0},
};
// CPU time rather than wall time: steadier on a busy machine. The kernel's own
// count joins them when either run loaded programs into the kernel.
constexpr std::string_view DefaultColumns[] = {"cpu", "processed", "states", "insns"};
using Columns = std::vector<MetricColumn>;

std::optional<MetricColumn> column_named(std::string_view metric) {
    for (const auto& column : AllColumns)
        if (column.metric == metric) return column;
    return std::nullopt;
}

Columns default_columns(const std::vector<CorpusRecord>& a, const std::vector<CorpusRecord>& b) {
    Columns columns;
    for (auto metric : DefaultColumns) columns.push_back(*column_named(metric));
    auto has_kernel_count = [](const CorpusRecord& r) { return r.kernel && r.kernel->processed_insns; };
    if (std::ranges::any_of(a, has_kernel_count) || std::ranges::any_of(b, has_kernel_count))
        columns.insert(columns.begin() + 2, *column_named("kernel_processed"));
    return columns;
}

std::optional<double> number(const FieldValue& value) {
    if (const auto* n = std::get_if<double>(&value)) return *n;
    return std::nullopt;
}

std::string shown(std::optional<double> value, double scale, int decimals, bool sign = false) {
    if (!value) return "-";
    return sign ? fmt::format("{:+.{}f}", *value * scale, decimals) : fmt::format("{:.{}f}", *value * scale, decimals);
}

std::string shown_percent(std::optional<double> value) { return value ? fmt::format("{:+.1f}%", *value) : "n/a"; }

// "accept -> reject (null-dereference)": a changed verdict says why it changed.
std::string verdict_cell(const ComparedProgram& program) {
    const std::string a = program.a ? program.a->verdict : "-";
    const std::string b = program.b ? program.b->verdict : "-";
    if (a == b) return a;
    const std::string code = program.b && !program.b->error_code.empty() ? " (" + program.b->error_code + ")" : "";
    return a + " -> " + b + code;
}

// Sums over the programs present on both sides, and the counts of changes.
struct Totals {
    std::map<std::string, double, std::less<>> a, b;
    size_t compared = 0, changed = 0, accept_to_other = 0, other_to_accept = 0, missing = 0, added = 0;
};

// Sums of every metric, shown or not (JSON carries them all).
Totals total(const std::vector<const ComparedProgram*>& rows) {
    Totals totals;
    for (const ComparedProgram* row : rows) {
        const std::string status = row->status();
        totals.missing += status == "missing";
        totals.added += status == "new";
        if (!row->a || !row->b) continue;
        ++totals.compared;
        if (status == "changed") {
            ++totals.changed;
            totals.accept_to_other += row->regressed();
            totals.other_to_accept += row->b->verdict == VerdictAccept;
        }
        for (const auto& column : AllColumns) {
            totals.a[std::string(column.metric)] += number(field_of(*row, std::string(column.metric) + "_a")).value_or(0);
            totals.b[std::string(column.metric)] += number(field_of(*row, std::string(column.metric) + "_b")).value_or(0);
        }
    }
    return totals;
}

// A metric's sum; 0 when no program was compared (an empty or partial run).
double sum_of(const std::map<std::string, double, std::less<>>& sums, std::string_view metric) {
    auto found = sums.find(metric);
    return found == sums.end() ? 0.0 : found->second;
}

std::optional<double> percent(double a, double b) {
    if (a == 0) return b == 0 ? std::optional<double>(0.0) : std::nullopt;
    return 100.0 * (b - a) / a;
}

using Table = std::vector<std::vector<std::string>>;

std::vector<std::string> header(const Columns& columns) {
    std::vector<std::string> cells = {"file", "section", "program", "verdict"};
    for (const auto& column : columns)
        for (std::string_view part : {" A", " B", " diff", " %"}) cells.push_back(std::string(column.title) + std::string(part));
    return cells;
}

Table display_rows(const std::vector<const ComparedProgram*>& rows, const Totals& totals, const Columns& columns) {
    Table table;
    for (const ComparedProgram* row : rows) {
        std::vector<std::string> cells = {row->key.file, row->key.section, row->key.program, verdict_cell(*row)};
        for (const auto& column : columns) {
            const std::string metric(column.metric);
            cells.push_back(shown(number(field_of(*row, metric + "_a")), column.scale, column.decimals));
            cells.push_back(shown(number(field_of(*row, metric + "_b")), column.scale, column.decimals));
            cells.push_back(shown(number(field_of(*row, metric + "_diff")), column.scale, column.decimals, true));
            cells.push_back(row->a && row->b ? shown_percent(number(field_of(*row, metric + "_pct"))) : "-");
        }
        table.push_back(std::move(cells));
    }
    std::vector<std::string> cells = {"total", "", fmt::format("{} programs", totals.compared),
                                      fmt::format("{} changed", totals.changed)};
    for (const auto& column : columns) {
        const double a = sum_of(totals.a, column.metric), b = sum_of(totals.b, column.metric);
        cells.push_back(shown(a, column.scale, column.decimals));
        cells.push_back(shown(b, column.scale, column.decimals));
        cells.push_back(shown(b - a, column.scale, column.decimals, true));
        cells.push_back(shown_percent(percent(a, b)));
    }
    table.push_back(std::move(cells));
    return table;
}

bool is_numeric_column(size_t index) { return index >= 4; }

std::string render_table(const Table& rows, const Columns& columns) {
    Table all = rows;
    all.insert(all.begin(), header(columns));
    std::vector<size_t> widths(all.front().size(), 0);
    for (const auto& row : all)
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    std::string text;
    for (size_t r = 0; r < all.size(); ++r) {
        std::string line;
        for (size_t i = 0; i < all[r].size(); ++i) {
            if (i > 0) line += "  ";
            line += is_numeric_column(i) ? fmt::format("{:>{}}", all[r][i], widths[i]) : fmt::format("{:<{}}", all[r][i], widths[i]);
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        text += line + "\n";
        if (r == 0 || r + 2 == all.size()) {  // under the header and above the totals
            size_t total_width = 0;
            for (size_t w : widths) total_width += w + 2;
            text += std::string(total_width - 2, '-') + "\n";
        }
    }
    return text;
}

std::string render_markdown(const Table& rows, const Columns& columns) {
    auto line = [](const std::vector<std::string>& cells) {
        std::string text = "|";
        for (const auto& cell : cells) {
            std::string escaped;
            for (char c : cell) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
            text += " " + escaped + " |";
        }
        return text + "\n";
    };
    std::string text = line(header(columns)) + "|";
    for (size_t i = 0; i < header(columns).size(); ++i) text += is_numeric_column(i) ? " ---: |" : " --- |";
    text += "\n";
    for (const auto& row : rows) text += line(row);
    return text;
}

std::string csv_cell(const std::string& cell) {
    if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
    std::string quoted = "\"";
    for (char c : cell) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

// CSV keeps raw values (seconds, not ms) for spreadsheets and scripts.
std::string render_csv(const std::vector<const ComparedProgram*>& rows, const Columns& columns) {
    std::vector<std::string> fields = {"file", "section", "program", "status", "verdict_a", "verdict_b", "error_code"};
    for (const auto& column : columns)
        for (std::string_view part : {"_a", "_b", "_diff", "_pct"}) fields.push_back(std::string(column.metric) + std::string(part));
    std::string text;
    for (size_t i = 0; i < fields.size(); ++i) text += (i ? "," : "") + fields[i];
    text += "\n";
    for (const ComparedProgram* row : rows) {
        for (size_t i = 0; i < fields.size(); ++i) {
            FieldValue value = field_of(*row, fields[i]);
            std::string cell;
            if (const auto* s = std::get_if<std::string>(&value)) cell = *s;
            else if (const auto* n = std::get_if<double>(&value)) cell = fmt::format("{}", *n);
            text += (i ? "," : "") + csv_cell(cell);
        }
        text += "\n";
    }
    return text;
}

nlohmann::json json_value(const FieldValue& value) {
    if (const auto* s = std::get_if<std::string>(&value)) return *s;
    if (const auto* n = std::get_if<double>(&value)) return *n;
    return nullptr;
}

std::string render_json(const std::vector<const ComparedProgram*>& rows, const Totals& totals) {
    nlohmann::json out = {{"programs", nlohmann::json::array()}};
    for (const ComparedProgram* row : rows) {
        nlohmann::json item;
        for (std::string_view name : {"file", "section", "program", "status", "verdict_a", "verdict_b", "error_code"})
            item[std::string(name)] = json_value(field_of(*row, name));
        for (std::string_view metric : Metrics)  // every metric, cpu and mem included
            for (std::string_view part : {"_a", "_b", "_diff", "_pct"}) {
                const std::string name = std::string(metric) + std::string(part);
                item[name] = json_value(field_of(*row, name));
            }
        out["programs"].push_back(std::move(item));
    }
    nlohmann::json sums;
    for (const auto& column : AllColumns) {
        const std::string metric(column.metric);
        const double a = sum_of(totals.a, metric), b = sum_of(totals.b, metric);
        auto pct = percent(a, b);
        sums[metric] = {{"a", a}, {"b", b}, {"diff", b - a}, {"pct", pct ? nlohmann::json(*pct) : nlohmann::json(nullptr)}};
    }
    out["totals"] = {{"compared", totals.compared},       {"verdict_changes", totals.changed},
                     {"accept_to_other", totals.accept_to_other}, {"other_to_accept", totals.other_to_accept},
                     {"missing", totals.missing},         {"new", totals.added},
                     {"metrics", sums}};
    return json_text(out) + "\n";
}

// A run file; an empty one (an empty shard) or one cut short is valid input,
// and what was skipped is said on stderr.
std::optional<std::vector<CorpusRecord>> read_run(const std::string& path, std::string_view side) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (!std::filesystem::exists(status)) {
        fmt::print(stderr, "bpfvet compare: {}: no such file\n", path);
        return std::nullopt;
    }
    if (!std::filesystem::is_regular_file(status)) {
        fmt::print(stderr, "bpfvet compare: {}: not a regular file{}\n", path,
                   std::filesystem::is_directory(status) ? " (a directory)" : "");
        return std::nullopt;
    }
    auto results = read_results(path);
    if (!results) {
        fmt::print(stderr, "bpfvet compare: {}\n", results.error());
        return std::nullopt;
    }
    if (results->torn_lines > 0)
        fmt::print(stderr, "bpfvet compare: {}: skipped {} line(s) that are not corpus records (cut short or not JSON)\n",
                   path, results->torn_lines);
    if (results->records.empty())
        fmt::print(stderr, "bpfvet compare: {}: no records (an empty shard?): every program of the other run counts as {}\n",
                   path, side == "A" ? "new" : "missing");
    return std::move(results->records);
}

// Runs made by different builds or with different options may differ for that
// reason alone: say so, naming the first difference.
void warn_if_made_differently(const std::vector<CorpusRecord>& a, const std::vector<CorpusRecord>& b) {
    if (a.empty() || b.empty()) return;
    const CorpusRecord& first_a = a.front();
    const CorpusRecord& first_b = b.front();
    if (first_a.version != first_b.version)
        fmt::print(stderr, "bpfvet compare: warning: A was made by bpfvet {}, B by {}\n", first_a.version, first_b.version);
    if (first_a.options == first_b.options) return;
    std::set<std::string> names;
    for (const auto& [name, value] : first_a.options.items()) names.insert(name);
    for (const auto& [name, value] : first_b.options.items()) names.insert(name);
    for (const auto& name : names) {
        auto shown = [&](const nlohmann::json& options) {
            auto found = options.find(name);
            return found == options.end() ? std::string("(not recorded)") : json_text(*found, -1);
        };
        if (shown(first_a.options) != shown(first_b.options))
            fmt::print(stderr, "bpfvet compare: warning: A and B were made with different options: {} {} in A, {} in B\n",
                       name, shown(first_a.options), shown(first_b.options));
    }
}

// --sort FIELD[:desc]: numbers numerically, text alphabetically; rows without
// the field last either way. Ties keep the default order.
struct SortKey {
    std::string field;
    bool descending = false;
};

std::expected<SortKey, std::string> parse_sort(std::string_view text) {
    SortKey key{std::string(text)};
    for (std::string_view suffix : {":desc", ":asc"})
        if (text.ends_with(suffix)) {
            key.field = text.substr(0, text.size() - suffix.size());
            key.descending = suffix == ":desc";
        }
    if (!is_known_field(key.field))
        return std::unexpected("--sort '" + std::string(text) + "': unknown field '" + key.field + "' (the fields of --filter)");
    return key;
}

void sort_rows(std::vector<const ComparedProgram*>& rows, const SortKey& key) {
    auto before = [&](const ComparedProgram* x, const ComparedProgram* y) {
        const FieldValue a = field_of(*x, key.field), b = field_of(*y, key.field);
        const bool a_none = std::holds_alternative<std::monostate>(a), b_none = std::holds_alternative<std::monostate>(b);
        if (a_none || b_none) return !a_none && b_none;
        return key.descending ? b < a : a < b;
    };
    std::ranges::stable_sort(rows, before);
}

std::expected<Columns, std::string> chosen_columns(const std::vector<std::string>& names) {
    Columns columns;
    for (const auto& name : names) {
        auto column = column_named(name);
        if (!column) return std::unexpected("--columns: unknown metric '" + name + "' (time, cpu, steps, insns, mem, processed, states, kernel_processed)");
        columns.push_back(*column);
    }
    return columns;
}

int run_compare(const CompareOptions& options) {
    std::optional<SortKey> sort;
    if (!options.sort.empty()) {
        auto parsed = parse_sort(options.sort);
        if (!parsed) {
            fmt::print(stderr, "bpfvet compare: {}\n", parsed.error());
            return ExitBadInput;
        }
        sort = *parsed;
    }
    auto chosen = chosen_columns(options.columns);
    if (!chosen) {
        fmt::print(stderr, "bpfvet compare: {}\n", chosen.error());
        return ExitBadInput;
    }
    std::vector<Filter> filters;
    for (const auto& text : options.filters) {
        auto filter = parse_filter(text);
        if (!filter) {
            fmt::print(stderr, "bpfvet compare: {}\n", filter.error());
            return ExitBadInput;
        }
        filters.push_back(std::move(*filter));
    }
    auto a = read_run(options.a, "A");
    auto b = read_run(options.b, "B");
    if (!a || !b) return ExitBadInput;
    warn_if_made_differently(*a, *b);

    const std::vector<ComparedProgram> joined = join_runs(*a, *b);
    std::vector<const ComparedProgram*> rows;
    for (const auto& program : joined)
        if (std::ranges::all_of(filters, [&](const Filter& f) { return matches(program, f); })) rows.push_back(&program);
    if (sort) sort_rows(rows, *sort);
    const Columns columns = chosen->empty() ? default_columns(*a, *b) : *chosen;
    const Totals totals = total(rows);

    if (options.format == "json") fmt::print("{}", render_json(rows, totals));
    else if (options.format == "csv") fmt::print("{}", render_csv(rows, columns));
    else {
        const Table table = display_rows(rows, totals, columns);
        fmt::print("{}", options.format == "markdown" ? render_markdown(table, columns) : render_table(table, columns));
        fmt::print("\n{} programs compared ({} shown of {}): {} verdict changes ({} from accept, {} to accept), "
                   "{} missing from B, {} new in B\n",
                   totals.compared, rows.size(), joined.size(), totals.changed, totals.accept_to_other,
                   totals.other_to_accept, totals.missing, totals.added);
    }
    std::fflush(stdout);  // the report first, whole, then the note on stderr
    if (totals.accept_to_other > 0) {
        fmt::print(stderr, "bpfvet compare: {} program(s) accepted in A are not accepted in B\n", totals.accept_to_other);
        return ExitRejected;
    }
    return ExitOk;
}

}  // namespace

void register_compare_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<CompareOptions>();
    auto* command = app.add_subcommand("compare", "Compare two `bpfvet corpus` runs program by program (veristat style)");
    command->add_option("a", options->a, "Results of the baseline run (JSON Lines)")->required();
    command->add_option("b", options->b, "Results of the new run (JSON Lines)")->required();
    command->add_option("--filter", options->filters,
                        "Keep rows where this holds (repeatable, AND-ed): field=glob, field!=glob, field>N, field<N, "
                        "or verdict_changed; fields include file, program, verdict_a, verdict_b, time_pct, steps_pct, insns_pct")
        ->allow_extra_args(false);
    command->add_option("--columns", options->columns,
                        "Metrics shown, comma-separated: cpu, time, processed, states, kernel_processed, steps, insns, mem "
                        "(default cpu,processed,states,insns, with kernel_processed when the runs have kernel counts)")
        ->delimiter(',');
    command->add_option("--sort", options->sort,
                        "Order rows by a field, ascending, or FIELD:desc (e.g. cpu_pct:desc, processed_b:desc, error_code)");
    command->add_option("--format,-f", options->format, "table, csv, markdown or json")
        ->check(CLI::IsMember({"table", "csv", "markdown", "json"}));
    command->callback([options, &action] { action = [options] { return run_compare(*options); }; });
}

}  // namespace bpfvet::tools
