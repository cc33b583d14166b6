#include "tools/corpus_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace bpfvet::tools::corpus {

Decades decades_of(double smallest, double largest) {
    Decades decades{int(std::floor(std::log10(smallest))), int(std::ceil(std::log10(largest)))};
    if (decades.high <= decades.low) decades.high = decades.low + 1;
    return decades;
}

namespace {

constexpr double Width = 960, Height = 440;
constexpr double PanelWidth = 380, PanelHeight = 320;
constexpr double ScatterLeft = 80, HistogramLeft = 560, Top = 50;
constexpr int BinsPerDecade = 4;

// A panel's plotting area and how values map onto it.
struct Panel {
    double left, top;
    [[nodiscard]] double right() const { return left + PanelWidth; }
    [[nodiscard]] double bottom() const { return top + PanelHeight; }
};

// Program names come from the objects: escaped before they enter markup.
std::string escape_xml(std::string_view raw) {
    std::string escaped;
    for (char c : raw) {
        switch (c) {
            case '<': escaped += "&lt;"; break;
            case '>': escaped += "&gt;"; break;
            case '&': escaped += "&amp;"; break;
            case '"': escaped += "&quot;"; break;
            default: escaped += c;
        }
    }
    return escaped;
}

double log_position(double value, Decades decades, double from, double length) {
    return from + (std::log10(value) - decades.low) / (decades.high - decades.low) * length;
}

std::string text(double x, double y, std::string_view content, std::string_view anchor = "middle", int size = 12) {
    return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"{}\">{}</text>\n", x, y, size, anchor,
                       content);
}

std::string line(double x1, double y1, double x2, double y2, std::string_view style) {
    return fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" {}/>\n", x1, y1, x2, y2, style);
}

std::string frame(const Panel& panel) {
    return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", panel.left,
                       panel.top, PanelWidth, PanelHeight);
}

std::string scatter(const std::vector<CorpusRecord>& records) {
    const Panel panel{ScatterLeft, Top};
    std::string svg = frame(panel);
    svg += text(panel.left + PanelWidth / 2, panel.top - 12, "analysis time per program: bpfvet against the kernel");
    svg += text(panel.left + PanelWidth / 2, panel.bottom() + 40, "kernel load time (s)");
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\">"
                       "bpfvet analysis time (s)</text>\n",
                       panel.left - 50, panel.top + PanelHeight / 2, panel.left - 50, panel.top + PanelHeight / 2);
    std::vector<const CorpusRecord*> points;
    for (const auto& record : records)
        if (record.kernel && record.kernel->load_seconds > 0 && record.seconds > 0) points.push_back(&record);
    if (points.empty()) {
        svg += text(panel.left + PanelWidth / 2, panel.top + PanelHeight / 2, "no kernel times in these results (run with --kernel)");
        return svg;
    }
    double smallest = INFINITY, largest = 0;
    for (const auto* point : points) {
        smallest = std::min({smallest, point->seconds, point->kernel->load_seconds});
        largest = std::max({largest, point->seconds, point->kernel->load_seconds});
    }
    const Decades decades = decades_of(smallest, largest);  // the same scale on both axes
    auto x_of = [&](double v) { return log_position(v, decades, panel.left, PanelWidth); };
    auto y_of = [&](double v) { return panel.bottom() - (log_position(v, decades, 0, PanelHeight)); };
    for (int decade = decades.low; decade <= decades.high; ++decade) {
        const double value = std::pow(10.0, decade);
        svg += line(x_of(value), panel.top, x_of(value), panel.bottom(), "stroke=\"#ddd\"");
        svg += line(panel.left, y_of(value), panel.right(), y_of(value), "stroke=\"#ddd\"");
        svg += text(x_of(value), panel.bottom() + 16, fmt::format("1e{}", decade));
        svg += text(panel.left - 6, y_of(value) + 4, fmt::format("1e{}", decade), "end");
    }
    svg += line(panel.left, panel.bottom(), panel.right(), panel.top, "stroke=\"#888\" stroke-dasharray=\"4 4\"");
    for (const auto* point : points) {
        // Red where we and the kernel disagree on accept/reject.
        const bool disagree = (point->verdict == "accept") != (point->kernel->verdict == "accept");
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\" fill-opacity=\"0.7\"><title>{}</title></circle>\n",
                           x_of(point->kernel->load_seconds), y_of(point->seconds), disagree ? "#d62728" : "#1f77b4",
                           escape_xml(point->key.to_string()));
    }
    svg += text(panel.right() - 4, panel.top + 14, "red: verdicts differ; dashed: equal times", "end", 10);
    return svg;
}

std::string histogram(const std::vector<CorpusRecord>& records) {
    const Panel panel{HistogramLeft, Top};
    std::string svg = frame(panel);
    svg += text(panel.left + PanelWidth / 2, panel.top - 12, "bpfvet analysis times");
    svg += text(panel.left + PanelWidth / 2, panel.bottom() + 40, "analysis time (s)");
    std::vector<double> times;
    for (const auto& record : records)
        if (record.seconds > 0) times.push_back(record.seconds);
    if (times.empty()) {
        svg += text(panel.left + PanelWidth / 2, panel.top + PanelHeight / 2, "no analysis times");
        return svg;
    }
    const Decades decades = decades_of(std::ranges::min(times), std::ranges::max(times));
    const int bins = (decades.high - decades.low) * BinsPerDecade;
    std::vector<size_t> counts(size_t(bins), 0);
    for (double t : times) {
        int bin = int(std::floor((std::log10(t) - decades.low) * BinsPerDecade));
        ++counts[size_t(std::clamp(bin, 0, bins - 1))];
    }
    const size_t tallest = std::ranges::max(counts);
    const double bar = PanelWidth / bins;
    for (int i = 0; i < bins; ++i) {
        const double height = double(counts[size_t(i)]) / double(tallest) * (PanelHeight - 20);
        svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#1f77b4\"><title>{}</title></rect>\n",
                           panel.left + i * bar + 1, panel.bottom() - height, bar - 2, height, counts[size_t(i)]);
    }
    for (int decade = decades.low; decade <= decades.high; ++decade)
        svg += text(panel.left + (decade - decades.low) * BinsPerDecade * bar, panel.bottom() + 16, fmt::format("1e{}", decade));
    svg += text(panel.left - 6, panel.top + 24, fmt::format("{}", tallest), "end");
    svg += text(panel.left - 6, panel.bottom(), "0", "end");
    svg += text(panel.right() - 4, panel.top + 14, fmt::format("{} programs", times.size()), "end", 10);
    return svg;
}

}  // namespace

std::string render_plot_svg(const std::vector<CorpusRecord>& records) {
    std::string svg = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"sans-serif\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        Width, Height, Width, Height);
    svg += scatter(records);
    svg += histogram(records);
    svg += "</svg>\n";
    return svg;
}

}  // namespace bpfvet::tools::corpus
