// Generated programs against the running kernel's verifier: each program is
// analysed by us and loaded with runtime/kernel_loader (as root); every
// disagreement is classified from the kernel's error line and, where we
// accept what the kernel refuses, by the soundness oracle:
//
//   our soundness bug    we accept, the kernel refuses, and the checked interpreter faults on it
//   kernel imprecision   we accept, the kernel refuses for a limit of its search (too large, too complex)
//   privilege difference the kernel's reason is about capabilities
//   kernel rule we lack  we accept, the kernel refuses for a rule we do not check (no fault found)
//   our precision gap    we refuse what the kernel accepts
//
//   generated_kernel_differential --first 0 --count 1000 --out /tmp/diff.csv   # appends, resumable
//   generated_kernel_differential --table /tmp/diff.csv                       # the table, markdown
//
// Exit 0; 2 on bad usage; 77 when the kernel refuses bpf(2) altogether.
#include "elf_writer.hpp"
#include "program_generator.hpp"
#include "soundness_oracle.hpp"

#include "analyzer/analyzer.hpp"
#include "runtime/kernel_loader.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::generator {
namespace {

struct Record {
    uint64_t seed = 0;
    std::string section, ours, kernel, verdict_class, our_error, kernel_line;
    double our_seconds = 0;
};

// "R3 invalid mem access 'scalar'" and "R5 invalid mem access 'scalar'" are one rule:
// numbers become N.
std::string rule_of(std::string_view line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
        if (line.substr(i, 2) == "0x") {
            i += 2;
            while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) ++i;
            --i;
            out += 'N';
        } else if (std::isdigit(static_cast<unsigned char>(line[i]))) {
            while (i + 1 < line.size() && std::isdigit(static_cast<unsigned char>(line[i + 1]))) ++i;
            out += 'N';
        } else {
            out += line[i];
        }
    }
    return out;
}

bool mentions_any(std::string_view text, std::initializer_list<std::string_view> words) {
    return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return text.find(w) != std::string_view::npos; });
}

std::string classify(bool we_accept, bool kernel_accepts, std::string_view kernel_line,
                     const GeneratedProgram& program) {
    if (we_accept == kernel_accepts) return we_accept ? "agree: both accept" : "agree: both reject";
    if (!we_accept) return "our precision gap";
    OracleOptions options;
    options.inputs = 32;
    if (run_oracle(program, options).breach != Breach::None) return "our soundness bug";
    // The kernel's search giving up (its stack limit is a rule, not a limit of its search).
    if (mentions_any(kernel_line, {"BPF program is too large", "too complex", "complexity", "infinite loop",
                                   "loop is not bounded"}))
        return "kernel imprecision";
    if (mentions_any(kernel_line, {"CAP_", "unpriv", "privileged", "requires root"})) return "privilege difference";
    return "kernel rule we lack";
}

std::string csv_field(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::vector<std::string> parse_csv_line(const std::string& line) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.push_back(std::move(field));
            field.clear();
        } else {
            field += c;
        }
    }
    fields.push_back(std::move(field));
    return fields;
}

std::vector<Record> read_records(const std::string& path) {
    std::vector<Record> records;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto f = parse_csv_line(line);
        if (f.size() != 8 || f[0] == "seed") continue;
        records.push_back({std::strtoull(f[0].c_str(), nullptr, 10), f[1], f[2], f[3], f[4], f[5], f[6],
                           std::strtod(f[7].c_str(), nullptr)});
    }
    return records;
}

void print_table(const std::vector<Record>& records) {
    std::map<std::string, size_t> classes;
    // class -> rule -> (count, example seed)
    std::map<std::string, std::map<std::string, std::pair<size_t, uint64_t>>> rules;
    for (const auto& r : records) {
        ++classes[r.verdict_class];
        if (r.verdict_class.starts_with("agree")) continue;
        std::string rule = r.verdict_class == "our precision gap" ? rule_of(r.our_error) + " (kernel accepts)"
                                                                  : rule_of(r.kernel_line);
        auto& [count, example] = rules[r.verdict_class][rule];
        if (count++ == 0) example = r.seed;
    }
    double seconds = 0;
    for (const auto& r : records) seconds += r.our_seconds;
    fmt::print("{} generated programs, analysed in {:.1f} s\n\n| class | programs |\n|---|---:|\n", records.size(), seconds);
    for (const auto& [name, count] : classes) fmt::print("| {} | {} |\n", name, count);
    for (const auto& [name, by_rule] : rules) {
        fmt::print("\n**{}**\n\n| reason | programs | example seed |\n|---|---:|---:|\n", name);
        std::vector<std::pair<std::string, std::pair<size_t, uint64_t>>> sorted(by_rule.begin(), by_rule.end());
        std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
        for (const auto& [rule, figures] : sorted) {
            std::string shown = rule;
            std::replace(shown.begin(), shown.end(), '|', '/');
            fmt::print("| `{}` | {} | {} |\n", shown, figures.first, figures.second);
        }
    }
}

// Our verdict and the kernel's on one program, with the reason of the one that refuses.
struct Verdicts {
    bool assembled = false, we_accept = false, kernel_accepts = false, kernel_available = true;
    runtime::kernel::KernelVerdict kernel_verdict = runtime::kernel::KernelVerdict::Unavailable;
    std::string our_error, kernel_line;
    double our_seconds = 0;
};

Verdicts verdicts_of(const GeneratedProgram& program) {
    Verdicts v;
    auto object = build_object(program);
    if (!object) return v;
    v.assembled = true;
    const ir::Program& code = object->programs.front();
    analyzer::AnalysisOptions analysis;
    analysis.max_seconds = 10;
    auto ours = analyzer::analyze_program(*object, code, analysis);
    v.we_accept = ours.accepted;
    v.our_seconds = ours.seconds;
    if (!ours.errors.empty()) v.our_error = fmt::format("{}: {}", ours.errors.front().code_name(), ours.errors.front().message);
    auto kernel = runtime::kernel::load_in_kernel(*object, code, code.type);
    v.kernel_verdict = kernel.verdict;
    v.kernel_available = kernel.verdict == runtime::kernel::KernelVerdict::Accept ||
                         kernel.verdict == runtime::kernel::KernelVerdict::Reject;
    v.kernel_accepts = kernel.verdict == runtime::kernel::KernelVerdict::Accept;
    if (!v.kernel_accepts) v.kernel_line = kernel.first_error_line.empty() ? kernel.message : kernel.first_error_line;
    return v;
}

// The smallest program on which we and the kernel still disagree the same way
// (same verdicts, same reason up to numbers).
GeneratedProgram minimize_disagreement(const GeneratedProgram& program) {
    Verdicts original = verdicts_of(program);
    auto reason = [](const Verdicts& v) { return rule_of(v.we_accept ? v.kernel_line : v.our_error.substr(0, v.our_error.find(':'))); };
    return minimize(program, [&](const GeneratedProgram& candidate) {
        Verdicts now = verdicts_of(candidate);
        return now.assembled && now.kernel_available && now.we_accept == original.we_accept &&
               now.kernel_accepts == original.kernel_accepts && reason(now) == reason(original);
    });
}

int usage() {
    std::fprintf(stderr, "usage: generated_kernel_differential --first SEED --count N --out FILE.csv\n"
                         "       generated_kernel_differential --table FILE.csv\n"
                         "       generated_kernel_differential --show SEED   (the program's text)\n"
                         "       generated_kernel_differential --write-elf SEED [-o FILE.o]   (as an ELF object)\n"
                         "       generated_kernel_differential --minimize SEED   (the smallest program with the same disagreement)\n"
                         "       generated_kernel_differential --load FILE.s [--section xdp]   (both verdicts)\n");
    return 2;
}

int run(int argc, char** argv) {
    std::map<std::string, std::string> options;
    for (int i = 1; i + 1 < argc; i += 2) options[argv[i]] = argv[i + 1];
    if (argc % 2 == 0 || options.empty()) return usage();
    if (options.contains("--show")) {
        auto program = generate_program(std::strtoull(options["--show"].c_str(), nullptr, 0));
        fmt::print("; section {}\n{}", program.section, program.text());
        return 0;
    }
    if (options.contains("--write-elf")) {
        auto program = generate_program(std::strtoull(options["--write-elf"].c_str(), nullptr, 0));
        std::string path = options.contains("-o") ? options["-o"] : fmt::format("generated-{}.o", program.seed);
        if (auto written = write_elf(program, path); !written) {
            std::fprintf(stderr, "%s\n", written.error().c_str());
            return 2;
        }
        fmt::print("{} ({})\n", path, program.section);
        return 0;
    }
    if (options.contains("--minimize")) {
        auto program = generate_program(std::strtoull(options["--minimize"].c_str(), nullptr, 0));
        Verdicts original = verdicts_of(program);
        if (original.we_accept == original.kernel_accepts) {
            fmt::print("we and the kernel agree on seed {}\n", program.seed);
            return 0;
        }
        GeneratedProgram minimal = minimize_disagreement(program);
        Verdicts now = verdicts_of(minimal);
        fmt::print("; section {}: ours {} ({}), kernel {} ({})\n{}", minimal.section, now.we_accept ? "accept" : "reject",
                   now.our_error, now.kernel_accepts ? "accept" : "reject", now.kernel_line, minimal.text());
        return 0;
    }
    if (options.contains("--load")) {
        // Assembly of one program (the generator's maps by name) as --section.
        GeneratedProgram program = generate_program(0);
        program.section = options.contains("--section") ? options["--section"] : "xdp";
        program.type = ir::program_type_from_section(program.section).type;
        program.lines.clear();
        std::ifstream in(options["--load"]);
        for (std::string line; std::getline(in, line);) program.lines.push_back(line);
        auto object = build_object(program);
        if (!object) {
            std::fprintf(stderr, "%s\n", object.error().c_str());
            return 2;
        }
        auto ours = analyzer::analyze_program(*object, object->programs.front());
        auto kernel = runtime::kernel::load_in_kernel(*object, object->programs.front(), program.type);
        fmt::print("ours: {} {}\nkernel: {} {}\n", ours.accepted ? "accept" : "reject",
                   ours.errors.empty() ? "" : ours.errors.front().message, runtime::kernel::kernel_verdict_name(kernel.verdict),
                   kernel.first_error_line.empty() ? kernel.message : kernel.first_error_line);
        return 0;
    }
    if (options.contains("--table")) {
        print_table(read_records(options["--table"]));
        return 0;
    }
    if (!options.contains("--first") || !options.contains("--count") || !options.contains("--out")) return usage();
    uint64_t first = std::strtoull(options["--first"].c_str(), nullptr, 0);
    uint64_t count = std::strtoull(options["--count"].c_str(), nullptr, 0);
    std::string out_path = options["--out"];
    std::set<uint64_t> done;
    for (const auto& r : read_records(out_path)) done.insert(r.seed);
    std::ofstream out(out_path, std::ios::app);
    if (!out) {
        std::fprintf(stderr, "%s: cannot write\n", out_path.c_str());
        return 2;
    }
    if (done.empty()) out << "seed,section,ours,kernel,class,our_error,kernel_line,our_seconds\n";
    size_t unavailable = 0;
    for (uint64_t seed = first; seed < first + count; ++seed) {
        if (done.contains(seed)) continue;
        GeneratedProgram program = generate_program(seed);
        Verdicts v = verdicts_of(program);
        if (!v.assembled) {
            std::fprintf(stderr, "seed %llu does not assemble\n", (unsigned long long)seed);
            continue;
        }
        if (v.kernel_verdict == runtime::kernel::KernelVerdict::Unavailable) {
            if (++unavailable >= 3) {
                std::fprintf(stderr, "the kernel gives no verdict: %s\n", v.kernel_line.c_str());
                return 77;
            }
            continue;
        }
        std::string verdict_class = v.kernel_verdict == runtime::kernel::KernelVerdict::LoaderError
                                        ? "kernel loader error"
                                        : classify(v.we_accept, v.kernel_accepts, v.kernel_line, program);
        out << seed << ',' << csv_field(program.section) << ',' << (v.we_accept ? "accept" : "reject") << ','
            << (v.kernel_accepts ? "accept" : "reject") << ',' << csv_field(verdict_class) << ',' << csv_field(v.our_error)
            << ',' << csv_field(v.kernel_line) << ',' << fmt::format("{:.4f}", v.our_seconds) << '\n';
        out.flush();
    }
    return 0;
}

}  // namespace
}  // namespace bpfvet::generator

int main(int argc, char** argv) { return bpfvet::generator::run(argc, argv); }
