// `bpfvet corpus PATH...`: verifies every program of every eBPF object under
// the paths and writes one JSON line per program (schema: tools/corpus_record.hpp).
//
// Each object's programs are analysed in worker processes (tools/corpus_pool,
// protocol in tools/corpus_worker.hpp), so a program that crashes the analyzer
// or exceeds its budget is recorded as such and the run goes on. Results are
// appended to --out line by line (flushed and synced), so an interrupted run
// resumes where it stopped; --shard I/N takes a stable subset so that several
// machines can split a corpus and concatenate their outputs.
//
// Exit codes: 0 the run completed (whatever the verdicts), 2 bad input or usage.
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"
#include "tools/corpus_discovery.hpp"
#include "tools/corpus_plot.hpp"
#include "tools/corpus_pool.hpp"
#include "tools/corpus_record.hpp"
#include "tools/corpus_summary.hpp"
#include "tools/corpus_worker.hpp"
#include "tools/text_output.hpp"
#include "tools/version.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace bpfvet::tools {
namespace {

using namespace corpus;

constexpr const char* Version = BuildVersion;

// Programs a worker gets at a time: small enough to spread one large object
// over several workers, large enough that loading the object is amortised.
constexpr size_t ProgramsPerJob = 8;
// Silence allowed beyond the analysis budget of one program (the analyzer
// stops itself at the budget; this covers its last step and the output), and
// for loading an object before the first program.
constexpr double WorkerMarginSeconds = 2;
constexpr double LoadSeconds = 60;

struct CorpusOptions {
    std::vector<std::string> paths;
    size_t jobs = std::max(1u, std::thread::hardware_concurrency());
    std::string out;
    double budget_seconds = 10;
    uint64_t budget_mb = 2048;
    bool kernel = false;
    std::string shard;
    bool unprivileged = false;
    uint64_t max_steps = 1'000'000;
    size_t max_disjuncts = 32;
    std::string types_from;
    std::string kernel_btf;  // empty: /sys/kernel/btf/vmlinux when it exists, as check
    std::string plot;
    std::string from;
};

// ------------------------------------------------------------------ program types from a CSV

std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
        if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) fields.emplace_back();
        else if (c != '\r') fields.back() += c;
    }
    return fields;
}

// "file,section,program,prog_type,..." rows (kernel-verdicts.csv has this shape):
// the type each program is to be analysed and loaded as, for sections whose
// name implies none.
std::expected<std::map<ProgramKey, std::string>, std::string> read_types(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::unexpected(path + ": cannot be read");
    std::string line;
    std::getline(in, line);
    auto header = split_csv_line(line);
    auto column = [&](std::string_view name) -> std::optional<size_t> {
        auto found = std::ranges::find(header, name);
        return found == header.end() ? std::nullopt : std::optional(size_t(found - header.begin()));
    };
    auto file = column("file"), section = column("section"), program = column("program");
    auto type = column("prog_type") ? column("prog_type") : column("type");
    if (!file || !section || !program || !type)
        return std::unexpected(path + ": the header must name the columns file, section, program and prog_type");
    std::map<ProgramKey, std::string> types;
    while (std::getline(in, line)) {
        auto fields = split_csv_line(line);
        if (fields.size() <= std::max({*file, *section, *program, *type}) || fields[*type].empty()) continue;
        types[{fields[*file], fields[*section], fields[*program]}] = fields[*type];
    }
    return types;
}

// ------------------------------------------------------------------ output

// Appends whole lines to the results: flushed and synced one by one, so a
// killed run leaves only complete lines (plus at most one torn one, which the
// next run cuts off).
class ResultsWriter {
public:
    explicit ResultsWriter(int fd, bool sync) : fd_(fd), sync_(sync) {}
    void write(const CorpusRecord& record) {
        std::string line = json_text(to_json(record), -1) + "\n";
        std::string_view rest = line;
        while (!rest.empty()) {
            ssize_t n = ::write(fd_, rest.data(), rest.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                failed_ = true;
                return;
            }
            rest.remove_prefix(size_t(n));
        }
        if (sync_) fsync(fd_);
    }
    [[nodiscard]] bool failed() const { return failed_; }

private:
    int fd_;
    bool sync_;
    bool failed_ = false;
};

// ------------------------------------------------------------------ progress

class Progress {
public:
    explicit Progress(bool enabled) : enabled_(enabled), started_(std::chrono::steady_clock::now()) {}
    void show(std::string_view stage, size_t done, size_t total, size_t running) {
        if (!enabled_) return;
        auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(100) && done != total) return;
        last_ = now;
        constexpr size_t width = 30;
        const size_t filled = total == 0 ? width : done * width / total;
        const double elapsed = std::chrono::duration<double>(now - started_).count();
        fmt::print(stderr, "\r{} [{}{}] {}/{}  {} running  {:.1f} s\x1b[K", stage, std::string(filled, '#'),
                   std::string(width - filled, '.'), done, total, running, elapsed);
        std::fflush(stderr);
    }
    void clear() {
        if (enabled_) fmt::print(stderr, "\r\x1b[K");
    }

private:
    bool enabled_;
    std::chrono::steady_clock::time_point started_, last_{};
};

// ------------------------------------------------------------------ the run

std::string signal_name(int signal) {
    const char* abbreviation = sigabbrev_np(signal);
    return abbreviation ? std::string("SIG") + abbreviation : fmt::format("signal {}", signal);
}

std::string last_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    auto newline = text.rfind('\n');
    return newline == std::string::npos ? text : text.substr(newline + 1);
}

// The options a record was made with: every one that can change a record.
nlohmann::json record_options(const CorpusOptions& options) {
    return {{"unprivileged", options.unprivileged},     {"max_steps", options.max_steps},
            {"max_disjuncts", options.max_disjuncts},   {"budget_seconds", options.budget_seconds},
            {"budget_mb", options.budget_mb},           {"kernel", options.kernel},
            {"types_from", options.types_from},         {"kernel_btf", options.kernel_btf}};
}

// Why a worker stopped without answering for the program it was busy with.
CorpusRecord failed_record(const ProgramKey& key, const WorkerEnd& end, double budget_seconds) {
    CorpusRecord record;
    record.key = key;
    record.version = Version;
    if (end.timed_out) {
        record.verdict = VerdictTimeout;
        record.error_message = fmt::format("no answer within the budget of {} s; the worker was killed", budget_seconds);
    } else if (end.signal == SIGKILL) {
        // RLIMIT_AS turns most memory exhaustion into std::bad_alloc (out-of-memory);
        // a SIGKILL we did not send is the kernel's OOM killer or someone else.
        record.verdict = VerdictCrashed;
        record.error_message = "worker killed by SIGKILL";
    } else if (end.signal != 0) {
        record.verdict = VerdictCrashed;
        record.error_message = "worker killed by " + signal_name(end.signal);
    } else {
        record.verdict = VerdictCrashed;
        record.error_message = end.exit_code != 0 ? fmt::format("worker exited with code {}", end.exit_code)
                                                  : std::string("worker ended without an answer");
    }
    if (std::string tail = last_line(end.stderr_tail); !tail.empty()) record.error_message += ": " + tail;
    return record;
}

struct ProgramEntry {
    ProgramKey key;
    std::string type;         // forced type, empty: from the section name
    std::string listed_type;  // the type the worker's listing reported (the section's)
    uint64_t insn_count = 0;
};

struct AnalyzeJob {
    ObjectFile object;
    std::vector<ProgramEntry> programs;
    size_t answered = 0;
};

class CorpusRun {
public:
    CorpusRun(const CorpusOptions& options, Shard shard, std::map<ProgramKey, std::string> types, std::set<ProgramKey> done,
              ResultsWriter& writer)
        : options_(options), shard_(shard), types_(std::move(types)), done_(std::move(done)), writer_(writer),
          progress_(isatty(STDERR_FILENO) != 0) {}

    // Phase 1: each object listed by a worker (loading can crash too).
    // Phase 2: the selected programs analysed, ProgramsPerJob per worker.
    std::expected<void, std::string> run(const std::vector<ObjectFile>& objects) {
        const std::vector<std::string> worker = {self_executable(), std::string(WorkerCommand)};
        std::vector<std::vector<ProgramEntry>> listed(objects.size());
        {
            WorkerPool pool(worker, options_.jobs);
            for (size_t i = 0; i < objects.size(); ++i)
                pool.submit({i, list_input(objects[i]), LoadSeconds, LoadSeconds});
            size_t finished = 0;
            std::vector<bool> answered(objects.size());
            WorkerPool::Callbacks callbacks;
            callbacks.line = [&](size_t id, std::string_view line) {
                answered[id] = true;
                take_listing(objects[id], line, listed[id]);
            };
            callbacks.end = [&](const WorkerEnd& end) {
                ++finished;
                if (!answered[end.id]) record_failure({objects[end.id].relative, "", ""}, end);
            };
            callbacks.tick = [&] { progress_.show("listing", finished, objects.size(), pool.running()); };
            if (auto error = pool.run(callbacks); !error.empty()) return std::unexpected(error);
        }

        WorkerPool pool(worker, options_.jobs);
        for (size_t i = 0; i < objects.size(); ++i) {
            std::vector<ProgramEntry> chosen;
            for (auto& entry : listed[i]) {
                if (!in_shard(entry.key, shard_)) continue;
                selected_.insert(entry.key);
                if (!done_.contains(entry.key)) chosen.push_back(entry);
            }
            for (size_t start = 0; start < chosen.size(); start += ProgramsPerJob) {
                auto end = chosen.begin() + ptrdiff_t(std::min(chosen.size(), start + ProgramsPerJob));
                submit(pool, AnalyzeJob{objects[i], {chosen.begin() + ptrdiff_t(start), end}, 0});
            }
        }
        WorkerPool::Callbacks callbacks;
        callbacks.line = [&](size_t id, std::string_view line) { take_record(jobs_[id], line); };
        callbacks.end = [&](const WorkerEnd& end) {
            AnalyzeJob& job = jobs_[end.id];
            if (job.answered >= job.programs.size()) return;
            // The program it was busy with is recorded as failed; the rest go to a new worker.
            const ProgramEntry& busy = job.programs[job.answered];
            CorpusRecord failed = failed_record(busy.key, end, options_.budget_seconds);
            failed.type = busy.type.empty() ? busy.listed_type : busy.type;
            failed.insn_count = busy.insn_count;
            write_selected(failed);
            AnalyzeJob rest{job.object, {job.programs.begin() + ptrdiff_t(job.answered) + 1, job.programs.end()}, 0};
            if (!rest.programs.empty()) submit(pool, std::move(rest));
        };
        const size_t written_while_listing = written_;  // bad-input records, not part of to_analyse_
        callbacks.tick = [&] { progress_.show("analysing", written_ - written_while_listing, to_analyse_, pool.running()); };
        if (auto error = pool.run(callbacks); !error.empty()) return std::unexpected(error);
        progress_.clear();
        return {};
    }

    [[nodiscard]] const std::set<ProgramKey>& selected() const { return selected_; }
    [[nodiscard]] size_t written() const { return written_; }
    [[nodiscard]] const std::vector<CorpusRecord>& fresh() const { return fresh_; }

private:
    static std::string self_executable() {
        std::error_code error;
        auto path = std::filesystem::read_symlink("/proc/self/exe", error);
        return error ? std::string("/proc/self/exe") : path.string();
    }

    std::string list_input(const ObjectFile& object) const {
        return json_text(nlohmann::json{{"mode", "list"}, {"file", object.path}, {"relative", object.relative}}, -1);
    }

    void submit(WorkerPool& pool, AnalyzeJob job) {
        nlohmann::json programs = nlohmann::json::array();
        for (const auto& entry : job.programs)
            programs.push_back({{"section", entry.key.section}, {"program", entry.key.program}, {"type", entry.type}});
        nlohmann::json input = {
            {"mode", "analyze"},
            {"file", job.object.path},
            {"relative", job.object.relative},
            {"version", Version},
            {"programs", programs},
            {"options",
             {{"unprivileged", options_.unprivileged},
              {"max_steps", options_.max_steps},
              {"max_disjuncts", options_.max_disjuncts},
              {"budget_seconds", options_.budget_seconds},
              {"budget_mb", options_.budget_mb},
              {"kernel", options_.kernel},
              {"kernel_btf", options_.kernel_btf}}},
        };
        // A kernel load is not bounded by our budget; it gets one of its own.
        const double per_program = options_.budget_seconds * (options_.kernel ? 2 : 1) + WorkerMarginSeconds;
        const size_t id = jobs_.size();
        jobs_.push_back(std::move(job));
        pool.submit({id, json_text(input, -1), LoadSeconds, per_program});
    }

    void take_listing(const ObjectFile& object, std::string_view line, std::vector<ProgramEntry>& programs) {
        auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_object() && json.contains("programs")) {
            for (const auto& item : json["programs"]) {
                ProgramKey key{object.relative, item.value("section", ""), item.value("program", "")};
                auto forced = types_.find(key);
                programs.push_back({key, forced == types_.end() ? std::string() : forced->second, item.value("type", ""),
                                    item.value("insn_count", uint64_t{0})});
            }
            to_analyse_ += std::ranges::count_if(programs, [&](const ProgramEntry& e) {
                return in_shard(e.key, shard_) && !done_.contains(e.key);
            });
            return;
        }
        // The object did not load: one bad-input record stands for all its programs.
        CorpusRecord record;
        record.key = {object.relative, "", ""};
        record.verdict = VerdictBadInput;
        record.version = Version;
        record.error_message = json.is_object() ? json.value("error", "unreadable answer") : "unreadable answer";
        write_selected(record);
    }

    void take_record(AnalyzeJob& job, std::string_view line) {
        if (job.answered >= job.programs.size()) return;
        const ProgramKey& expected = job.programs[job.answered].key;
        auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_object() && json.contains("loaded")) return;
        auto record = json.is_discarded() ? std::unexpected(std::string("not JSON")) : record_from_json(json);
        if (!record || record->key != expected) {
            CorpusRecord broken;
            broken.key = expected;
            broken.verdict = VerdictCrashed;
            broken.version = Version;
            broken.error_message = "the worker's answer was unreadable";
            record = broken;
        }
        ++job.answered;
        if (record->kernel && record->kernel->verdict == "unavailable" && !kernel_note_) {
            kernel_note_ = true;
            progress_.clear();
            fmt::print(stderr, "bpfvet corpus: no kernel verdicts: {}\n", record->kernel->first_error_line);
        }
        write_selected(*record);
    }

    void record_failure(const ProgramKey& key, const WorkerEnd& end) {
        write_selected(failed_record(key, end, options_.budget_seconds));
    }

    // Objects that fail as a whole are keyed (file, "", "") and sharded like programs.
    void write_selected(CorpusRecord record) {
        // Every record carries every option of the run and the version, whoever made it.
        record.options = record_options(options_);
        record.version = Version;
        const bool whole_object = record.key.section.empty() && record.key.program.empty();
        if (whole_object) {
            if (!in_shard(record.key, shard_)) return;
            selected_.insert(record.key);
            if (done_.contains(record.key)) return;
        }
        writer_.write(record);
        ++written_;
        fresh_.push_back(record);
    }

    const CorpusOptions& options_;
    Shard shard_;
    std::map<ProgramKey, std::string> types_;
    std::set<ProgramKey> done_;
    ResultsWriter& writer_;
    Progress progress_;
    std::vector<AnalyzeJob> jobs_;
    std::set<ProgramKey> selected_;
    std::vector<CorpusRecord> fresh_;  // records written by this run
    size_t written_ = 0;
    size_t to_analyse_ = 0;
    bool kernel_note_ = false;
};

int plot_or_report(const std::string& svg_path, const std::vector<CorpusRecord>& records) {
    std::ofstream out(svg_path);
    out << render_plot_svg(records);
    if (!out) {
        fmt::print(stderr, "bpfvet corpus: {}: cannot be written\n", svg_path);
        return ExitBadInput;
    }
    fmt::print(stderr, "bpfvet corpus: plot of {} programs written to {}\n", records.size(), svg_path);
    return ExitOk;
}

// Why records already in the output cannot be resumed by this run: they were
// made by another version or with other options (the first difference, named).
std::optional<std::string> resume_mismatch(const std::vector<CorpusRecord>& earlier, const CorpusOptions& options) {
    const nlohmann::json wanted = record_options(options);
    for (const auto& record : earlier) {
        if (record.version != Version)
            return fmt::format("its records were made by bpfvet {}, this is {}", record.version.empty() ? "(unknown)" : record.version,
                               Version);
        for (const auto& [name, value] : wanted.items()) {
            const auto there = record.options.find(name);
            if (there == record.options.end())
                return fmt::format("its records do not say which {} they were made with (this run: {})", name, value.dump());
            if (*there != value)
                return fmt::format("its records were made with {} {}, this run has {}", name, there->dump(), value.dump());
        }
    }
    return std::nullopt;
}

int run_corpus(const CorpusOptions& options) {
    if (!options.from.empty()) {
        if (options.plot.empty() || !options.paths.empty()) {
            fmt::print(stderr, "bpfvet corpus: --from plots an earlier run: give --plot and no paths\n");
            return ExitBadInput;
        }
        auto results = read_results(options.from);
        if (!results) {
            fmt::print(stderr, "bpfvet corpus: {}\n", results.error());
            return ExitBadInput;
        }
        return plot_or_report(options.plot, results->records);
    }
    if (options.paths.empty()) {
        fmt::print(stderr, "bpfvet corpus: give at least one path (or --from with --plot)\n");
        return ExitBadInput;
    }
    Shard shard;
    if (!options.shard.empty()) {
        auto parsed = parse_shard(options.shard);
        if (!parsed) {
            fmt::print(stderr, "bpfvet corpus: {}\n", parsed.error());
            return ExitBadInput;
        }
        shard = *parsed;
    }
    std::map<ProgramKey, std::string> types;
    if (!options.types_from.empty()) {
        auto read = read_types(options.types_from);
        if (!read) {
            fmt::print(stderr, "bpfvet corpus: {}\n", read.error());
            return ExitBadInput;
        }
        types = std::move(*read);
    }
    auto objects = discover_objects(options.paths);
    if (!objects) {
        fmt::print(stderr, "bpfvet corpus: {}\n", objects.error());
        return ExitBadInput;
    }
    if (objects->empty()) {
        fmt::print(stderr, "bpfvet corpus: no eBPF objects under the given paths\n");
        return ExitBadInput;
    }

    // Resume: what the output already holds is not analysed again.
    std::vector<CorpusRecord> earlier;
    int fd = STDOUT_FILENO;
    if (!options.out.empty()) {
        auto results = read_results(options.out);
        if (!results) {
            fmt::print(stderr, "bpfvet corpus: {}\n", results.error());
            return ExitBadInput;
        }
        if (auto why = resume_mismatch(results->records, options)) {
            fmt::print(stderr,
                       "bpfvet corpus: {}: cannot resume: {}; give another --out, or remove the file to start over\n",
                       options.out, *why);
            return ExitBadInput;
        }
        fd = open(options.out.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || ftruncate(fd, off_t(results->complete_bytes)) != 0 || lseek(fd, 0, SEEK_END) < 0) {
            fmt::print(stderr, "bpfvet corpus: {}: cannot be written: {}\n", options.out, std::strerror(errno));
            return ExitBadInput;
        }
        if (results->torn_lines > 0)
            fmt::print(stderr, "bpfvet corpus: {}: ignored {} incomplete line(s) of an interrupted run\n", options.out,
                       results->torn_lines);
        earlier = std::move(results->records);
    }
    std::set<ProgramKey> done;
    for (const auto& record : earlier) done.insert(record.key);

    // A worker that dies before reading its job must not kill us with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    ResultsWriter writer(fd, !options.out.empty());
    CorpusRun run(options, shard, std::move(types), done, writer);
    auto ran = run.run(*objects);
    if (fd != STDOUT_FILENO) close(fd);
    if (!ran) {
        fmt::print(stderr, "bpfvet corpus: {}\n", ran.error());
        return ExitBadInput;
    }
    if (writer.failed()) {
        fmt::print(stderr, "bpfvet corpus: writing the results failed: {}\n", std::strerror(errno));
        return ExitBadInput;
    }

    // The summary covers this run's selection, earlier lines included.
    std::vector<CorpusRecord> records;
    for (auto& record : earlier)
        if (run.selected().contains(record.key)) records.push_back(std::move(record));
    const size_t resumed = records.size();
    records.insert(records.end(), run.fresh().begin(), run.fresh().end());
    fmt::print(stderr, "{}", summarize(records, objects->size(), resumed, options.kernel));
    if (!options.plot.empty()) return plot_or_report(options.plot, records);
    return ExitOk;
}

}  // namespace

void register_corpus_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<CorpusOptions>();
    auto* command = app.add_subcommand("corpus", "Verify every program of every eBPF object under the paths, one JSON line each");
    command->add_option("paths", options->paths, "Directories or object files");
    command->add_option("--jobs,-j", options->jobs, "Worker processes at a time (default: the number of cores)")
        ->check(CLI::Range(1, 1024));
    command->add_option("--out,-o", options->out,
                        "Results file (JSON Lines); an existing one is resumed: programs it holds are skipped");
    command->add_option("--budget-seconds", options->budget_seconds, "Time budget per program (default 10)")
        ->check(CLI::PositiveNumber);
    command->add_option("--budget-mb", options->budget_mb, "Address-space limit of a worker in MiB (default 2048)")
        ->check(CLI::PositiveNumber);
    command->add_flag("--kernel", options->kernel, "Also load each program into the running kernel (needs root)");
    command->add_option("--shard", options->shard, "I/N: only the programs whose key hashes to I modulo N");
    command->add_flag("--unprivileged", options->unprivileged, "Apply the stricter rules of an unprivileged loader");
    command->add_option("--max-steps", options->max_steps, "Budget of abstract instruction steps (default 1000000)")
        ->check(CLI::PositiveNumber);
    command->add_option("--max-disjuncts", options->max_disjuncts, "States kept apart per program point (default 32)")
        ->check(CLI::PositiveNumber);
    command->add_option("--types-from", options->types_from,
                        "CSV with columns file,section,program,prog_type (e.g. kernel-verdicts.csv): the type of each "
                        "program whose section name implies none");
    command->add_option("--kernel-btf", options->kernel_btf,
                        "Kernel BTF for BTF-typed programs and kfuncs (default: /sys/kernel/btf/vmlinux when present)");
    command->add_option("--plot", options->plot, "Write an SVG: our time against the kernel's, and a histogram of times");
    command->add_option("--from", options->from, "With --plot: plot this results file instead of running");
    command->callback([options, &action] { action = [options] { return run_corpus(*options); }; });
}

}  // namespace bpfvet::tools
