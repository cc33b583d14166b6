#include "tools/html_report.hpp"

#include "ir/cfg_dot.hpp"
#include "tools/failing_path_view.hpp"
#include "tools/graphviz.hpp"
#include "tools/html_source.hpp"
#include "tools/version.hpp"

#include <fmt/format.h>


namespace bpfvet::tools {
namespace {

// A safety net only: failing_path_view keeps graphs small enough for a second or two.
constexpr std::chrono::seconds DotLimit{30};
// A page shows the graph scaled to its column: beyond this many blocks the
// text would be too small to read, so only the failing path's neighbourhood is drawn.
constexpr size_t MaxPageBlocks = 80;

constexpr std::string_view Style = R"(
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table.verdicts { border-collapse: collapse; } table.verdicts td, table.verdicts th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
tr.accept td.verdict { color: #17692b; font-weight: bold; } tr.reject td.verdict, tr.bad-input td.verdict { color: #b00000; font-weight: bold; }
.columns { display: flex; gap: 1.5em; align-items: flex-start; }
.graph { flex: 3 1 0; min-width: 0; max-height: 1400px; overflow: auto; border: 1px solid #ddd; padding: 0.5em; }
.graph svg { max-width: 100%; height: auto; }
.stories { flex: 2 1 0; min-width: 22em; }
.error { border-left: 4px solid #c00000; padding: 0.2em 0.8em; margin-bottom: 1em; background: #fff7f7; }
.error h4 { margin: 0.3em 0; } .cause { background: #fff4c2; padding: 0.3em; } .fix { background: #e8f5e9; padding: 0.3em; }
ol.steps li, ul.registers li { font-family: monospace; font-size: 0.9em; }
table.listing { border-collapse: collapse; font-size: 0.9em; width: 100%; }
table.listing td { padding: 0 0.5em; vertical-align: top; } td.number { color: #888; text-align: right; width: 4em; }
td.code code { white-space: pre; } td.lineinfo { color: #555; font-family: monospace; font-size: 0.9em; }
tr.error { background: #ffd6d6; } tr.path { background: #fff4c2; } tr.covered td.code { color: #000; } tr.plain td.code { color: #777; }
tr.gap td { color: #aaa; } tr:target { outline: 2px solid #1565c0; }
div.note { font-family: sans-serif; color: #b00000; white-space: normal; } p.note { color: #555; font-style: italic; }
)";

std::string escape(std::string_view text) { return escape_xml(text); }

// dot's SVG without the XML prolog, doctype and comments: only the <svg> element
// goes inline (comments hold node names, and the page needs none of them).
std::string inline_svg(const std::string& svg) {
    const size_t start = svg.find("<svg");
    if (start == std::string::npos) return {};
    std::string out;
    for (size_t at = start; at < svg.size();) {
        const size_t comment = svg.find("<!--", at);
        if (comment == std::string::npos) {
            out.append(svg, at);
            break;
        }
        out.append(svg, at, comment - at);
        const size_t end = svg.find("-->", comment + 4);
        at = end == std::string::npos ? svg.size() : end + 3;
    }
    return out;
}

std::string link(const std::string& anchor, std::string_view text) {
    if (anchor.empty()) return escape(text);
    return fmt::format("<a href=\"#{}\">{}</a>", anchor, escape(text));
}

std::string step_html(const analyzer::StoryStep& step, const AnnotatedListing& listing, std::string_view root) {
    const std::string where = step.location ? fmt::format("{}:{}", shown_source_path(step.location->file, root), step.location->line)
                                            : fmt::format("instruction {}", step.pc);
    std::string out = fmt::format("<li>{} <code>{}: {}</code>", link(anchor_for(listing, step.location, step.pc, root), where),
                                  step.pc, escape(step.instruction));
    if (!step.note.empty()) out += fmt::format(" &#8212; {}", escape(step.note));
    return out + "</li>\n";
}

std::string story_html(const analyzer::Diagnostic& error, size_t index, const ir::Program& program,
                       const AnnotatedListing& listing, std::string_view root, std::string_view id_prefix) {
    const std::string where = error.location ? fmt::format("{}:{}", shown_source_path(error.location->file, root), error.location->line)
                                             : fmt::format("instruction {}", error.pc);
    std::string out = fmt::format(
        "<div class=\"error\" id=\"{}e{}\">\n<h4>error[{}] at {}</h4>\n<p class=\"message\">{}</p>\n<p><code>{}: {}</code>",
        id_prefix, index, escape(error.code_name()), link(anchor_for(listing, error.location, error.pc, root), where),
        escape(error.message), error.pc, escape(error.instruction));
    if (error.location && !error.location->text.empty()) out += fmt::format("<br><code>{}</code>", escape(error.location->text));
    out += "</p>\n";
    if (!error.registers.empty()) {
        out += "<ul class=\"registers\">";
        for (const auto& r : error.registers) out += fmt::format("<li>{}</li>", escape(r));
        out += "</ul>\n";
    }
    if (error.story) {
        const auto& story = *error.story;
        if (story.cause != analyzer::LostFactCause::Unknown) {
            out += fmt::format("<p class=\"cause\"><b>The fact was lost</b> ({}): {}</p>\n",
                               escape(analyzer::lost_fact_cause_name(story.cause)), escape(story.because));
            if (!story.evidence.empty()) {
                out += "<ol class=\"steps evidence\">\n";
                for (const auto& step : story.evidence) out += step_html(step, listing, root);
                out += "</ol>\n";
            }
        }
        if (!story.origin.empty()) {
            out += "<p><b>Where the values came from</b></p>\n<ol class=\"steps origin\">\n";
            for (const auto& step : story.origin) out += step_html(step, listing, root);
            out += "</ol>\n";
        }
        if (!story.hint.empty()) out += fmt::format("<p class=\"fix\"><b>Fix:</b> {}</p>\n", escape(story.hint));
    }
    if (!error.also_at.empty()) {
        out += "<p><b>Same cause also at</b></p>\n<ol class=\"steps also\">\n";
        for (const auto& step : error.also_at) out += step_html(step, listing, root);
        out += "</ol>\n";
    }
    if (error.status != analyzer::AlarmStatus::None) {
        out += fmt::format("<p>Refinement: {}{}</p>\n", escape(analyzer::alarm_status_name(error.status)),
                           error.status_reason.empty() ? "" : " (" + escape(error.status_reason) + ")");
    }
    // The source lines the failing path runs through, each once in a row (its end: the error).
    std::vector<std::pair<const ir::SourceLocation*, uint32_t>> lines;
    for (const auto& step : error.path)
        if (const auto* location = program.location(step.pc); location && (lines.empty() || lines.back().first != location))
            lines.emplace_back(location, step.pc);
    if (!lines.empty()) {
        constexpr size_t Shown = 40;
        const size_t skipped = lines.size() > Shown ? lines.size() - Shown : 0;
        out += fmt::format("<details><summary>The failing path through the source ({} lines{})</summary>\n<ol class=\"steps path\">\n",
                           lines.size(), skipped ? fmt::format(", the last {} shown", Shown) : "");
        for (size_t i = skipped; i < lines.size(); ++i) {
            const auto& [location, pc] = lines[i];
            out += fmt::format("<li>{} <code>{}</code></li>\n",
                               link(anchor_for(listing, *location, pc, root),
                                    fmt::format("{}:{}", shown_source_path(location->file, root), location->line)),
                               escape(location->text));
        }
        out += "</ol></details>\n";
    }
    out += fmt::format("<p class=\"fix\"><b>For this kind of error:</b> {}</p>\n</div>\n", escape(analyzer::error_code_info(error.code).fix_hint));
    return out;
}

std::string graph_html(const ir::Object& object, const ir::Program& program, std::span<const analyzer::Diagnostic> errors,
                       const HtmlReportOptions& options, std::string_view id_prefix) {
    if (!options.draw_graphs) return "<p class=\"note\">The control-flow graph is not drawn in this report.</p>";
    if (find_dot().empty())
        return fmt::format("<p class=\"note\">{}: the control-flow graph with the failing path is not drawn.</p>",
                           escape(GraphvizMissing));
    auto cfg = ir::build_cfg(program);
    if (!cfg) return fmt::format("<p class=\"note\">No control-flow graph: {}</p>", escape(cfg.error().to_string()));
    FailingPathView picture = failing_path_view(program, *cfg, errors, MaxPageBlocks);
    picture.view.id_prefix = std::string(id_prefix);
    picture.view.short_file_names = true;
    std::string out;
    if (!picture.scope_note.empty()) out += fmt::format("<p class=\"note\">{}.</p>\n", escape(picture.scope_note));
    auto svg = render_svg(ir::cfg_to_dot(program, *cfg, &object, picture.view), DotLimit);
    if (!svg) return out + fmt::format("<p class=\"note\">The control-flow graph is not drawn: {}</p>", escape(svg.error()));
    std::string nodes;
    for (const auto& node : picture.path_nodes) nodes += (nodes.empty() ? "" : " ") + std::string(id_prefix) + node;
    return out + fmt::format("<div class=\"svg\" data-path-nodes=\"{}\">\n{}</div>\n", escape(nodes), inline_svg(*svg));
}

const ir::Object* find_object(const std::deque<ir::Object>& objects, const std::string& path) {
    for (const auto& object : objects)
        if (object.path == path) return &object;
    return nullptr;
}

std::string program_section(const ProgramReport& report, const ir::Object& object, size_t index, const HtmlReportOptions& options) {
    const auto& program = *report.program;
    const auto& errors = report.analysis.errors;
    const std::string prefix = fmt::format("p{}-", index);
    std::string out = fmt::format("<section class=\"program\" id=\"p{}\">\n<h2>{}: {} &#8212; {}</h2>\n", index,
                                  escape(report.object_path), escape(program_label(program)),
                                  report.analysis.accepted ? "accepted" : "rejected");
    if (report.kernel) out += fmt::format("<pre class=\"kernel\">{}</pre>\n", escape(kernel_text(report)));
    if (errors.empty()) return out + "</section>\n";
    const AnnotatedListing listing = annotate_program(object, program, errors, options.source_root, prefix);
    out += "<div class=\"columns\">\n<div class=\"graph\">\n<h3>Control-flow graph, the failing path highlighted</h3>\n";
    // dot writes '-' in ids as "&#45;": the graph's ids use '_'.
    out += graph_html(object, program, errors, options, fmt::format("p{}_", index));
    out += "</div>\n<div class=\"stories\">\n<h3>Why</h3>\n";
    for (size_t i = 0; i < errors.size(); ++i) out += story_html(errors[i], i, program, listing, options.source_root, prefix);
    out += "</div>\n</div>\n<div class=\"source\">\n<h3>Source</h3>\n" + listing.html + "</div>\n</section>\n";
    return out;
}

}  // namespace

std::string html_report(std::span<const ProgramReport> reports, const std::deque<ir::Object>& objects,
                        std::span<const InputFailure> failures, const HtmlReportOptions& options) {
    size_t rejected = 0;
    for (const auto& report : reports) rejected += report.analysis.accepted ? 0 : 1;
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>bpfvet check: {} programs, {} rejected</title>\n"
        "<style>{}</style>\n</head>\n<body>\n<h1>bpfvet check</h1>\n<p>{} programs checked, {} rejected, {} inputs not "
        "checked (bpfvet {}).</p>\n",
        reports.size(), rejected, Style, reports.size(), rejected, failures.size(), escape(BuildVersion));
    out += "<table class=\"verdicts\">\n<tr><th>object</th><th>program</th><th>type</th><th>instructions</th><th>verdict</th>"
           "<th>first error</th></tr>\n";
    for (size_t i = 0; i < reports.size(); ++i) {
        const auto& report = reports[i];
        const bool accepted = report.analysis.accepted;
        std::string first;
        if (!report.analysis.errors.empty()) {
            const auto& error = report.analysis.errors.front();
            first = fmt::format("<a href=\"#p{}-e0\">error[{}]</a> {}", i, escape(error.code_name()), escape(error.message));
        }
        out += fmt::format("<tr class=\"{0}\"><td>{1}</td><td><a href=\"#p{2}\">{3}</a></td><td>{4}</td><td>{5}</td>"
                           "<td class=\"verdict\">{0}</td><td>{6}</td></tr>\n",
                           accepted ? "accept" : "reject", escape(report.object_path), i, escape(program_label(*report.program)),
                           escape(ir::program_type_name(report.analysis.type)), report.program->instructions.size(), first);
    }
    for (const auto& failure : failures)
        out += fmt::format("<tr class=\"bad-input\"><td>{}</td><td></td><td></td><td></td><td class=\"verdict\">bad-input</td>"
                           "<td>{}</td></tr>\n",
                           escape(failure.object_path), escape(failure.message));
    out += "</table>\n";
    for (size_t i = 0; i < reports.size(); ++i) {
        const ir::Object* object = find_object(objects, reports[i].object_path);
        if (object) out += program_section(reports[i], *object, i, options);
    }
    return out + "</body>\n</html>\n";
}

}  // namespace bpfvet::tools
