#include "tools/html_source.hpp"

#include "ir/disassembler.hpp"
#include "tools/check_report.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace bpfvet::tools {
namespace {

// Source files larger than this are not shown (a generated file, not a program's source).
constexpr uintmax_t MaxSourceBytes = 8u << 20;
// A function body shorter than this many lines is shown whole.
constexpr uint32_t WholeBodyLines = 150;
// Failing-path instructions listed when no source shows them (the end of the path).
constexpr size_t PathTailInstructions = 60;

std::string resolve(std::string_view file, std::string_view root) {
    if (file.starts_with('/') || root.empty()) return std::string(file);
    return fmt::format("{}/{}", root, file);
}

std::optional<std::vector<std::string>> read_lines(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error) || std::filesystem::file_size(path, error) > MaxSourceBytes)
        return std::nullopt;
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
    return lines;
}

// [first, last] ranges covering `lines` widened by `context`, merged, within [1, count].
std::vector<std::pair<uint32_t, uint32_t>> merge_windows(const std::map<uint32_t, uint32_t>& line_context, uint32_t count) {
    std::vector<std::pair<uint32_t, uint32_t>> windows;
    for (const auto& [line, context] : line_context) {
        if (line == 0 || line > count) continue;
        const uint32_t first = line > context ? line - context : 1;
        const uint32_t last = std::min(count, line + context);
        if (!windows.empty() && first <= windows.back().second + 1) windows.back().second = std::max(windows.back().second, last);
        else windows.emplace_back(first, last);
    }
    // Windows were added in line order, but a wide context may reach back over an earlier one.
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& w : windows) {
        if (!merged.empty() && w.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, w.second);
        else merged.push_back(w);
    }
    return merged;
}

void widen(std::map<uint32_t, uint32_t>& lines, uint32_t line, uint32_t context) {
    auto& at = lines[line];
    at = std::max(at, context);
}

// What the listing marks: per shown file, the lines of errors, of failing paths, of story steps.
struct Marks {
    std::map<std::string, std::map<uint32_t, std::vector<size_t>>> error_lines;  // file -> line -> error indices
    std::map<std::string, std::set<uint32_t>> path_lines;
    std::map<std::string, std::set<uint32_t>> story_lines;
    std::map<std::string, std::set<uint32_t>> covered_lines;  // every line the program has line info for
    std::set<uint32_t> path_pcs;
    std::map<uint32_t, std::vector<size_t>> error_pcs;
    std::map<uint32_t, uint32_t> listed_pcs;  // pc -> context
};

Marks collect_marks(const ir::Program& program, std::span<const analyzer::Diagnostic> errors, std::string_view root) {
    Marks marks;
    auto shown = [&](const std::string& file) { return shown_source_path(file, root); };
    for (size_t pc = 0; pc < program.location_of.size(); ++pc)
        if (const auto* location = program.location(uint32_t(pc))) marks.covered_lines[shown(location->file)].insert(location->line);
    auto story_step = [&](const analyzer::StoryStep& step) {
        if (step.location) marks.story_lines[shown(step.location->file)].insert(step.location->line);
        widen(marks.listed_pcs, step.pc, 1);
    };
    for (size_t i = 0; i < errors.size(); ++i) {
        const auto& error = errors[i];
        marks.error_pcs[error.pc].push_back(i);
        widen(marks.listed_pcs, error.pc, 6);
        if (error.location) marks.error_lines[shown(error.location->file)][error.location->line].push_back(i);
        for (const auto& step : error.path) {
            marks.path_pcs.insert(step.pc);
            if (const auto* location = program.location(step.pc)) marks.path_lines[shown(location->file)].insert(location->line);
        }
        const size_t tail = error.path.size() > PathTailInstructions ? error.path.size() - PathTailInstructions : 0;
        for (size_t s = tail; s < error.path.size(); ++s) widen(marks.listed_pcs, error.path[s].pc, 0);
        if (error.story) {
            for (const auto& step : error.story->origin) story_step(step);
            for (const auto& step : error.story->evidence) story_step(step);
        }
        for (const auto& step : error.also_at) story_step(step);
    }
    return marks;
}

std::string error_notes(const std::vector<size_t>& indices, std::span<const analyzer::Diagnostic> errors,
                        std::string_view id_prefix) {
    std::string out;
    for (size_t i : indices)
        out += fmt::format("<div class=\"note\"><a href=\"#{}e{}\">error[{}]</a> {}</div>", id_prefix, i,
                           escape_xml(errors[i].code_name()), escape_xml(errors[i].message));
    return out;
}

// One source file's listing, or "" when it cannot be read.
std::string source_table(const std::string& file, size_t file_index, const Marks& marks, std::span<const analyzer::Diagnostic> errors,
                         std::string_view root, std::string_view id_prefix, AnnotatedListing& listing) {
    auto lines = read_lines(resolve(file, root));
    if (!lines) return {};
    std::map<uint32_t, uint32_t> wanted;
    auto errors_here = marks.error_lines.find(file);
    if (errors_here != marks.error_lines.end())
        for (const auto& [line, indices] : errors_here->second) widen(wanted, line, 5);
    for (const auto* lines_of : {&marks.path_lines, &marks.story_lines})
        if (auto found = lines_of->find(file); found != lines_of->end())
            for (uint32_t line : found->second) widen(wanted, line, 1);
    if (auto covered = marks.covered_lines.find(file); covered != marks.covered_lines.end() && !covered->second.empty()) {
        const uint32_t first = *covered->second.begin(), last = *covered->second.rbegin();
        if (last - first < WholeBodyLines)
            for (uint32_t line = first; line <= last; ++line) widen(wanted, line, 2);
    }
    auto in = [&](const std::map<std::string, std::set<uint32_t>>& sets, uint32_t line) {
        auto found = sets.find(file);
        return found != sets.end() && found->second.contains(line);
    };
    std::string out = fmt::format("<h4 class=\"file\">{}</h4>\n<table class=\"listing\">\n", escape_xml(file));
    bool first_window = true;
    for (const auto& [first, last] : merge_windows(wanted, uint32_t(lines->size()))) {
        if (!first_window || first > 1) out += "<tr class=\"gap\"><td colspan=\"3\">&#8942;</td></tr>\n";
        first_window = false;
        for (uint32_t line = first; line <= last; ++line) {
            const std::string anchor = fmt::format("{}L{}-{}", id_prefix, file_index, line);
            listing.line_anchors[{file, line}] = anchor;
            const std::vector<size_t>* here = nullptr;
            if (errors_here != marks.error_lines.end())
                if (auto found = errors_here->second.find(line); found != errors_here->second.end()) here = &found->second;
            const char* kind = here ? "error" : in(marks.path_lines, line) ? "path" : in(marks.covered_lines, line) ? "covered" : "plain";
            const char* mark = here ? "&#10007;" : in(marks.path_lines, line) ? "&#9656;" : "";
            out += fmt::format("<tr id=\"{}\" class=\"{}\"><td class=\"number\">{}</td><td class=\"mark\">{}</td><td class=\"code\"><code>{}</code>",
                               anchor, kind, line, mark, escape_xml((*lines)[line - 1]));
            if (here) out += error_notes(*here, errors, id_prefix);
            out += "</td></tr>\n";
        }
    }
    return out + "</table>\n";
}

std::string instruction_table(const ir::Object& object, const ir::Program& program, const Marks& marks,
                              std::span<const analyzer::Diagnostic> errors, std::string_view root, std::string_view id_prefix,
                              AnnotatedListing& listing) {
    std::set<uint32_t> listed;
    for (const auto& [pc, context] : marks.listed_pcs)
        for (uint32_t at = pc > context ? pc - context : 0; at <= pc + context && at < program.instructions.size(); ++at)
            listed.insert(at);
    std::string out = "<table class=\"listing instructions\">\n";
    ir::DisassemblyContext context;
    context.object = &object;
    context.functions = &program.functions;
    std::optional<uint32_t> previous;
    const ir::SourceLocation* last_location = nullptr;
    for (uint32_t pc : listed) {
        if (pc > 0 && program.instructions[pc - 1].is_lddw()) continue;  // an LDDW's second slot
        if (previous && pc != *previous + 1 && !(program.instructions[*previous].is_lddw() && pc == *previous + 2))
            out += "<tr class=\"gap\"><td colspan=\"3\">&#8942;</td></tr>\n";
        previous = pc;
        const auto* location = program.location(pc);
        std::string source;
        if (location && location != last_location)
            source = fmt::format("{}:{}: {}", shown_source_path(location->file, root), location->line, location->text);
        last_location = location;
        const ir::Instruction* next = pc + 1 < program.instructions.size() ? &program.instructions[pc + 1] : nullptr;
        context.pc = pc;
        auto error = marks.error_pcs.find(pc);
        const char* kind = error != marks.error_pcs.end() ? "error" : marks.path_pcs.contains(pc) ? "path" : "plain";
        const std::string anchor = fmt::format("{}pc-{}", id_prefix, pc);
        listing.pc_anchors[pc] = anchor;
        out += fmt::format("<tr id=\"{}\" class=\"{}\"><td class=\"number\">{}</td><td class=\"code\"><code>{}</code>", anchor, kind,
                           pc, escape_xml(ir::disassemble(program.instructions[pc], next, context)));
        if (error != marks.error_pcs.end()) out += error_notes(error->second, errors, id_prefix);
        out += fmt::format("</td><td class=\"lineinfo\">{}</td></tr>\n", escape_xml(source));
    }
    return out + "</table>\n";
}

}  // namespace

std::string shown_source_path(std::string_view path, std::string_view source_root) {
    if (source_root.empty()) return std::string(path);
    return relative_source_path(resolve(path, source_root), source_root);
}

AnnotatedListing annotate_program(const ir::Object& object, const ir::Program& program,
                                  std::span<const analyzer::Diagnostic> errors, std::string_view source_root,
                                  std::string_view id_prefix) {
    AnnotatedListing listing;
    const Marks marks = collect_marks(program, errors, source_root);
    std::vector<std::string> missing;
    size_t file_index = 0;
    for (const auto& [file, lines] : marks.error_lines) {
        std::string table = source_table(file, file_index++, marks, errors, source_root, id_prefix, listing);
        if (table.empty()) missing.push_back(file);
        listing.html += table;
    }
    bool unlocated = false;
    for (const auto& error : errors) unlocated = unlocated || !error.location;
    std::string why;
    if (!missing.empty()) {
        std::string names;
        for (const auto& file : missing) names += (names.empty() ? "" : ", ") + file;
        why = fmt::format("The source ({}) is not readable here{}: the instructions near the errors, with the line "
                          "info BTF carries, stand in for it.",
                          names, source_root.empty() ? "" : " (relative paths are read below --source-root)");
    } else if (unlocated) {
        why = "Some errors have no source line (no BTF line info): the instructions near them.";
    }
    listing.html += fmt::format("<h4 class=\"file\">Instructions near the errors and the end of the failing path</h4>\n{}",
                                why.empty() ? "" : fmt::format("<p class=\"note\">{}</p>\n", escape_xml(why)));
    listing.html += instruction_table(object, program, marks, errors, source_root, id_prefix, listing);
    return listing;
}

std::string anchor_for(const AnnotatedListing& listing, const std::optional<ir::SourceLocation>& location, uint32_t pc,
                       std::string_view source_root) {
    if (location)
        if (auto found = listing.line_anchors.find({shown_source_path(location->file, source_root), location->line});
            found != listing.line_anchors.end())
            return found->second;
    if (auto found = listing.pc_anchors.find(pc); found != listing.pc_anchors.end()) return found->second;
    return {};
}

}  // namespace bpfvet::tools
