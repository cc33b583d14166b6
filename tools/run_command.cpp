// `bpfvet run FILE --section S`: verifies, then runs one program (on the JIT
// by default, with the facts the analyzer proved; `--engine interp` for the
// reference interpreter, which --no-verify always uses, checked) and prints what it did: the return value,
// the packet when it changed, trace output, ring buffer and perf records,
// and every map. Also runs raw bytecode or assembly (e.g. a conformance
// case) with --mem as the memory r1 points to.
//
// Exit codes: 0 ran, 1 rejected by the verifier or stopped by a fault,
// 2 bad input or usage (including "no verifier in this build").
#include "analyzer/analyzer.hpp"
#include "analyzer/btf_access.hpp"
#include "jit/jit_runner.hpp"
#include "ir/assembler.hpp"
#include "ir/elf_loader.hpp"
#include "runtime/runtime.hpp"
#include "tools/cli_common.hpp"
#include "tools/text_output.hpp"
#include "tools/commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>
#include <sstream>

namespace bpfvet::tools {
namespace {

using runtime::Map;

struct RunCommandOptions {
    std::string file;
    std::string section;
    std::string program;  // function name
    std::string packet;
    std::string context;
    std::string memory;
    std::string input_format;  // elf, raw, asm; empty: by extension
    std::string type;          // program type for raw/asm input
    std::string engine;  // jit or interp; empty: jit when verified and available, else interp
    std::string format = "text";
    uint64_t repeat = 0;
    uint64_t budget = 100'000'000;
    bool no_verify = false;
    bool unchecked = false;
    bool all_map_entries = false;
    uint64_t map_memory_mib = runtime::DefaultMapMemoryBudget >> 20;
    unsigned cpus = 1;
};

// ---------------------------------------------------------------- the verifier hook

struct VerifierVerdict {
    bool accepted = false;
    std::string message;  // the diagnostics to print when rejected
    analyzer::ProgramFacts facts;  // what the analyzer proved (accepted only), for the JIT
};

// Decides whether `program` may run: the analyzer with its default (privileged) rules.
std::optional<VerifierVerdict> verify_before_run(const ir::Object& object, const ir::Program& program) {
    analyzer::AnalysisOptions options;
    options.record_facts = true;
    auto result = analyzer::analyze_program(object, program, options);
    VerifierVerdict verdict;
    verdict.accepted = result.accepted;
    verdict.facts = std::move(result.facts);
    for (const auto& error : result.errors) verdict.message += error.to_text() + "\n";
    return verdict;
}

// ---------------------------------------------------------------- input

std::string to_hex(std::span<const uint8_t> bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

std::optional<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// "HEX" (spaces, colons and a 0x prefix allowed) or "@FILE" (raw bytes).
std::expected<std::vector<uint8_t>, std::string> parse_bytes(const std::string& text, const char* what) {
    if (!text.empty() && text[0] == '@') {
        auto bytes = read_file_bytes(text.substr(1));
        if (!bytes) return std::unexpected(fmt::format("cannot read {} file '{}'", what, text.substr(1)));
        return *bytes;
    }
    std::string digits;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
            ++i;
            continue;
        }
        if (std::isxdigit(uint8_t(c))) digits += c;
        else if (!std::isspace(uint8_t(c)) && c != ':' && c != ',')
            return std::unexpected(fmt::format("{}: '{}' is not a hex digit", what, c));
    }
    if (digits.size() % 2) return std::unexpected(fmt::format("{}: odd number of hex digits", what));
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < digits.size(); i += 2) bytes.push_back(uint8_t(std::stoul(digits.substr(i, 2), nullptr, 16)));
    return bytes;
}

std::string input_format_of(const RunCommandOptions& options) {
    if (!options.input_format.empty()) return options.input_format;
    auto ends_with = [&](std::string_view suffix) {
        return options.file.size() >= suffix.size() && options.file.ends_with(suffix);
    };
    if (ends_with(".bin") || ends_with(".raw")) return "raw";
    if (ends_with(".s") || ends_with(".asm") || ends_with(".data")) return "asm";
    return "elf";
}

// A conformance file (sections "-- asm", "-- mem", ...) or plain assembly.
struct AssemblyInput {
    std::string text;
    std::optional<std::string> memory;
};

AssemblyInput split_conformance(const std::string& text) {
    if (text.find("-- asm") == std::string::npos) return {text, std::nullopt};
    AssemblyInput input;
    std::istringstream lines(text);
    std::string line, section;
    std::string memory;
    while (std::getline(lines, line)) {
        if (line.rfind("-- ", 0) == 0) {
            section = line.substr(3);
            continue;
        }
        if (section == "asm") input.text += line + "\n";
        if (section == "mem") memory += line + " ";
    }
    if (!memory.empty()) input.memory = memory;
    return input;
}

// Builds an Object with one program from raw bytecode or assembly text.
std::expected<ir::Object, std::string> object_from_code(const RunCommandOptions& options, const std::string& format,
                                                        std::optional<std::string>& memory_from_file) {
    auto bytes = read_file_bytes(options.file);
    if (!bytes) return std::unexpected(fmt::format("{}: cannot read the file", options.file));
    std::vector<ir::Instruction> code;
    if (format == "raw") {
        if (bytes->size() % 8) return std::unexpected(fmt::format("{}: raw bytecode must be a multiple of 8 bytes", options.file));
        for (size_t i = 0; i < bytes->size(); i += 8) {
            uint64_t word;
            std::memcpy(&word, bytes->data() + i, 8);
            code.push_back(ir::decode_slot(word));
        }
    } else {
        auto input = split_conformance(std::string(bytes->begin(), bytes->end()));
        memory_from_file = input.memory;
        auto assembled = ir::assemble(input.text);
        if (!assembled) return std::unexpected(fmt::format("{}: line {}", options.file, assembled.error().to_string()));
        code = std::move(assembled->instructions);
    }
    if (code.empty()) return std::unexpected(fmt::format("{}: no instructions", options.file));
    ir::Object object;
    object.path = options.file;
    ir::Program program;
    program.section = options.section.empty() ? "code" : options.section;
    program.name = program.section;
    if (!options.type.empty()) {
        auto type = ir::program_type_from_name(options.type);
        if (!type) return std::unexpected(fmt::format("unknown program type '{}'", options.type));
        program.type = *type;
    }
    program.functions.push_back(ir::Function{program.name, 0, uint32_t(code.size())});
    program.instructions = std::move(code);
    object.programs.push_back(std::move(program));
    return object;
}

// ---------------------------------------------------------------- output

struct MapDump {
    std::string name;
    std::string type;
    uint32_t key_size, value_size, max_entries;
    std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;  // non-zero values, shown
    std::vector<std::vector<uint8_t>> records;  // ring buffer records, queue/stack values (in pop order)
    uint64_t zero_entries = 0;    // entries whose value is all zero: counted, not shown
    uint64_t entries_left = 0;    // non-zero entries (or records) past the limit: counted, not shown
    bool values_cut = false;      // some value shown only up to the byte limit
    uint64_t dropped = 0;
};

// What `run` prints of each map: every entry and byte with --all-map-entries.
struct MapDumpLimits {
    size_t entries = 64;          // non-zero entries (or records) shown per map
    size_t value_bytes = 4096;    // bytes shown of one value
    bool zero_entries = false;    // all-zero entries shown too
    static MapDumpLimits unlimited() { return {SIZE_MAX, SIZE_MAX, true}; }
};

MapDump dump_map(Map& map, const MapDumpLimits& limits) {
    const auto& d = map.definition();
    MapDump dump{map.name(), ir::map_type_name(d.type), d.key_size, d.value_size, d.max_entries, {}, {}};
    auto shown = [&](std::span<const uint8_t> bytes) {
        if (bytes.size() <= limits.value_bytes) return std::vector<uint8_t>(bytes.begin(), bytes.end());
        dump.values_cut = true;
        return std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(limits.value_bytes));
    };
    auto keep_record = [&](std::span<const uint8_t> record) {
        if (dump.records.size() < limits.entries) dump.records.push_back(shown(record));
        else ++dump.entries_left;
    };
    switch (d.type) {
    case ir::MapType::Ringbuf: {
        auto& ring = static_cast<runtime::RingBuffer&>(map);
        ring.consume(keep_record);
        dump.dropped = ring.dropped();
        return dump;
    }
    case ir::MapType::Queue:
    case ir::MapType::Stack: {
        std::vector<uint8_t> value(map.host_value_size());
        while (map.host_lookup_and_delete(nullptr, value.data()) == 0) keep_record(value);
        return dump;
    }
    case ir::MapType::PerfEventArray: return dump;
    default: break;
    }
    const bool handles = d.type == ir::MapType::ProgArray || d.type == ir::MapType::ArrayOfMaps ||
                         d.type == ir::MapType::HashOfMaps;
    std::vector<uint8_t> key(d.key_size), next(d.key_size), value(std::max<size_t>(map.host_value_size(), 4));
    const void* previous = nullptr;
    while (map.host_get_next_key(previous, next.data()) == 0) {
        key = next;
        previous = key.data();
        if (map.host_lookup(key.data(), value.data()) != 0) continue;
        const std::span<const uint8_t> bytes(value.data(), handles ? 4 : map.host_value_size());
        if (!limits.zero_entries && std::ranges::all_of(bytes, [](uint8_t b) { return b == 0; })) ++dump.zero_entries;
        else if (dump.entries.size() < limits.entries) dump.entries.emplace_back(key, shown(bytes));
        else ++dump.entries_left;
    }
    return dump;
}

std::string spaced_hex(std::span<const uint8_t> bytes) {
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i) out += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
    return out;
}

// Names of well-known return values, for reading text output at a glance.
std::string verdict_name(ir::ProgramType type, uint64_t value) {
    if (type == ir::ProgramType::Xdp) {
        constexpr const char* names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"};
        return value < 5 ? fmt::format(" [{}]", names[value]) : "";
    }
    if (type == ir::ProgramType::SchedCls || type == ir::ProgramType::SchedAct) {
        constexpr const char* names[] = {"TC_ACT_OK", "TC_ACT_RECLASSIFY", "TC_ACT_SHOT", "TC_ACT_PIPE",
                                         "TC_ACT_STOLEN", "TC_ACT_QUEUED", "TC_ACT_REPEAT", "TC_ACT_REDIRECT"};
        return value < 8 ? fmt::format(" [{}]", names[value]) : "";
    }
    return "";
}

int report_error(const std::string& message) {
    fmt::print(stderr, "bpfvet: {}\n", message);
    return ExitBadInput;
}

int run_program(RunCommandOptions options) {
    // The JIT trusts the verifier: native code has no checked mode to catch a fault.
    if (options.engine == "jit" && options.no_verify)
        return report_error("--engine jit runs only verified programs: drop --no-verify or use --engine interp");
    if (options.engine.empty()) options.engine = options.no_verify ? "interp" : "jit";
    std::string format = input_format_of(options);
    std::optional<std::string> memory_from_file;
    ir::Object object;
    if (format == "elf") {
        auto loaded = ir::load_object(options.file);
        if (!loaded) return report_error(loaded.error().to_string());
        object = std::move(*loaded);
    } else {
        auto built = object_from_code(options, format, memory_from_file);
        if (!built) return report_error(built.error());
        object = std::move(*built);
    }

    // Pick the program: --section (section or function name); an object with one program needs none.
    // A function name is exact; a section may hold several programs (the first is taken).
    // --program names the function exactly; --section a section or function name.
    const ir::Program* chosen = nullptr;
    size_t chosen_index = 0;
    auto in_section = [&](const ir::Program& program) {
        return options.section.empty() || program.section == options.section || program.name == options.section;
    };
    if (!options.program.empty()) {
        for (size_t i = 0; i < object.programs.size() && !chosen; ++i)
            if (object.programs[i].name == options.program && in_section(object.programs[i]))
                chosen = &object.programs[chosen_index = i];
    } else {
        for (size_t i = 0; i < object.programs.size() && !chosen; ++i)
            if (options.section.empty() ? object.programs.size() == 1 : object.programs[i].name == options.section)
                chosen = &object.programs[chosen_index = i];
        for (size_t i = 0; i < object.programs.size() && !chosen && !options.section.empty(); ++i)
            if (object.programs[i].section == options.section) chosen = &object.programs[chosen_index = i];
    }
    if (!chosen) {
        std::string sections;
        for (const auto& program : object.programs) sections += fmt::format("\n  {} ({})", program.section, program.name);
        std::string what = !options.program.empty() ? fmt::format("no program '{}'", options.program)
                           : options.section.empty() ? "several programs: pass --section or --program"
                                                     : fmt::format("no section '{}'", options.section);
        return report_error(fmt::format("{}: {}; the object has:{}", options.file, what,
                                        sections.empty() ? " no programs" : sections));
    }
    if (format == "elf") {
        const auto forced = options.type.empty() ? std::nullopt : std::optional<std::string>(options.type);
        auto type = decide_program_type(*chosen, forced, options.file);
        if (!type) return report_error(type.error());
        object.programs[chosen_index].type = *type;
    }
    std::string where = fmt::format("{}: section {}", options.file, chosen->section);
    if (const ir::Defect* defect = chosen->whole_program_defect()) {
        // Even with --no-verify: neither engine can run code that does not decode.
        fmt::print(stderr, "bpfvet: {}: instruction {}: {}; the kernel refuses this program, not run\n", where,
                   defect->pc, defect->message);
        return ExitRejected;
    }
    // fentry/fexit/tp_btf/lsm programs dereference kernel objects given as
    // arguments: there are none here, so only the checked interpreter may run
    // them, on raw argument bytes, and only when asked to skip verification.
    if (auto kind = analyzer::btf_attach_kind(chosen->type, chosen->section);
        kind && !(options.no_verify && options.engine == "interp"))
        return report_error(fmt::format("{}: {} programs read kernel objects through their BTF-typed arguments, which "
                                        "bpfvet run cannot provide; verify them with `bpfvet check` (or run them "
                                        "checked on raw argument bytes with --no-verify --engine interp)",
                                        where, analyzer::btf_attach_kind_name(*kind)));

    analyzer::ProgramFacts facts;
    if (!options.no_verify) {
        auto verdict = verify_before_run(object, *chosen);
        if (!verdict) {
            fmt::print(stderr, "bpfvet: {}: verification not available in this build: pass --no-verify\n", where);
            return ExitBadInput;
        }
        if (!verdict->accepted) {
            fmt::print(stderr, "bpfvet: {}: rejected by the verifier, not run\n{}", where, verdict->message);
            return ExitRejected;
        }
        facts = std::move(verdict->facts);
    }

    runtime::RunInput input;
    if (!options.packet.empty()) {
        auto bytes = parse_bytes(options.packet, "--packet");
        if (!bytes) return report_error(bytes.error());
        input.packet = std::move(*bytes);
    }
    if (!options.context.empty()) {
        auto bytes = parse_bytes(options.context, "--ctx");
        if (!bytes) return report_error(bytes.error());
        input.context = std::move(*bytes);
    }
    std::optional<std::string> memory_text = options.memory.empty() ? memory_from_file : options.memory;
    if (memory_text) {
        auto bytes = parse_bytes(*memory_text, "--mem");
        if (!bytes) return report_error(bytes.error());
        input.memory = std::move(*bytes);
    }

    runtime::RuntimeOptions runtime_options;
    runtime_options.cpus = options.cpus;
    runtime_options.map_memory_budget = std::min<uint64_t>(options.map_memory_mib, 1ull << 40) << 20;
    std::string section = chosen->section;
    auto loaded = runtime::LoadedObject::create(std::move(object), std::move(runtime_options));
    if (!loaded) return report_error(loaded.error().to_string());
    auto program = (*loaded)->program_at(chosen_index);
    if (!program) return report_error(program.error().to_string());
    // One run, then --repeat timing runs; the maps keep what the first run did.
    auto time_runs = [&](auto&& run_once) -> std::optional<double> {
        if (options.repeat == 0) return std::nullopt;
        auto start = std::chrono::steady_clock::now();
        for (uint64_t i = 0; i < options.repeat; ++i) run_once();
        auto elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        return elapsed / double(options.repeat);
    };
    // The JIT when asked for (or by default) and available; the interpreter otherwise.
    std::unique_ptr<jit::JitCompiler> compiler;
    std::unique_ptr<jit::JitEngine> jit_engine;
    if (options.engine == "jit") {
        auto created = jit::JitCompiler::create();
        if (!created) {
            fmt::print(stderr, "bpfvet: JIT unavailable ({}): running on the interpreter\n", created.error());
            options.engine = "interp";
        } else {
            compiler = std::move(*created);
            jit_engine = std::make_unique<jit::JitEngine>(*compiler);
            jit_engine->set_facts(**program, std::move(facts));
        }
    }
    runtime::Runner runner(**loaded, **program, 0, jit_engine.get());
    if (auto set = runner.set_input(input); !set) return report_error(fmt::format("{}: {}", where, set.error()));
    if (auto prepared = runner.prepare(); !prepared) return report_error(fmt::format("{}: {}", where, prepared.error()));
    runtime::RunOptions run_options;
    run_options.checked = !options.unchecked && options.engine == "interp";
    run_options.instruction_budget = options.budget;
    runtime::RunOutcome outcome = runner.run(run_options);
    std::optional<double> ns_per_run;
    if (outcome.result) {
        run_options.restore_input = false;  // timing runs: the maps and packet keep what the runs did
        ns_per_run = time_runs([&] { (void)runner.run_fast(run_options); });
    }

    std::vector<uint8_t> original = input.packet.value_or(std::vector<uint8_t>{});
    bool packet_changed = input.packet && outcome.packet != original;
    auto trace = (*loaded)->trace().take();
    auto perf = (*loaded)->take_perf_records();
    std::vector<MapDump> maps;
    const MapDumpLimits limits = options.all_map_entries ? MapDumpLimits::unlimited() : MapDumpLimits{};
    for (Map* map : (*loaded)->maps()) maps.push_back(dump_map(*map, limits));
    ir::ProgramType type = (*program)->type;

    if (options.format == "json") {
        nlohmann::json out;
        out["file"] = options.file;
        out["section"] = section;
        out["type"] = std::string(ir::program_type_name(type));
        out["engine"] = options.engine;
        if (outcome.result) {
            out["return_value"] = outcome.result->return_value;
            out["instructions"] = outcome.result->instructions;
            out["fault"] = nullptr;
        } else {
            out["return_value"] = nullptr;
            const auto& fault = outcome.result.error();
            out["fault"] = {{"kind", runtime::fault_kind_name(fault.kind)}, {"pc", fault.pc}, {"section", fault.section},
                            {"address", fault.address}, {"size", fault.size}, {"write", fault.write},
                            {"region", fault.region}, {"message", fault.to_string()}};
        }
        out["packet_changed"] = packet_changed;
        out["packet"] = input.packet ? nlohmann::json(to_hex(outcome.packet)) : nlohmann::json(nullptr);
        if (input.memory) out["memory"] = to_hex(outcome.memory);
        out["trace"] = trace;
        if (outcome.redirect)
            out["redirect"] = {{"helper", outcome.redirect->helper == BPF_FUNC_redirect ? "redirect" : "redirect_map"},
                               {"map", outcome.redirect->map ? outcome.redirect->map->name() : ""},
                               {"target", outcome.redirect->target}, {"flags", outcome.redirect->flags}};
        nlohmann::json perf_json = nlohmann::json::array();
        for (const auto& record : perf) perf_json.push_back({{"map", record.map}, {"cpu", record.cpu}, {"data", to_hex(record.data)}});
        out["perf_events"] = perf_json;
        nlohmann::json maps_json = nlohmann::json::object();
        for (const auto& dump : maps) {
            nlohmann::json entries = nlohmann::json::array();
            for (const auto& [key, value] : dump.entries) entries.push_back({{"key", to_hex(key)}, {"value", to_hex(value)}});
            nlohmann::json records = nlohmann::json::array();
            for (const auto& record : dump.records) records.push_back(to_hex(record));
            nlohmann::json item = {{"type", dump.type}, {"key_size", dump.key_size}, {"value_size", dump.value_size},
                                   {"max_entries", dump.max_entries}, {"entries", entries},
                                   {"zero_entries", dump.zero_entries}, {"entries_not_shown", dump.entries_left},
                                   {"values_cut", dump.values_cut},
                                   {"truncated", dump.entries_left > 0 || dump.values_cut}};
            if (dump.type == "ringbuf" || dump.type == "queue" || dump.type == "stack") item["records"] = records;
            if (dump.type == "ringbuf") item["dropped"] = dump.dropped;
            maps_json[dump.name] = item;
        }
        out["maps"] = maps_json;
        if (ns_per_run) {
            out["ns_per_run"] = *ns_per_run;
            out["repeat"] = options.repeat;
        }
        fmt::print("{}\n", json_text(out));
    } else {
        fmt::print("{} ({}, {} engine, {})\n", where, ir::program_type_name(type), options.engine,
                   run_options.checked ? "checked" : "unchecked");
        if (outcome.result)
            fmt::print("return value: {} ({:#x}){}{}\n", outcome.result->return_value, outcome.result->return_value,
                       verdict_name(type, outcome.result->return_value),
                       options.engine == "interp" ? fmt::format("  [{} instructions]", outcome.result->instructions) : "");
        else
            fmt::print("fault: {}\n", outcome.result.error().to_string());
        if (packet_changed) fmt::print("packet after the run ({} bytes):\n  {}\n", outcome.packet.size(), spaced_hex(outcome.packet));
        if (input.memory) fmt::print("memory after the run:\n  {}\n", spaced_hex(outcome.memory));
        if (outcome.redirect)
            fmt::print("redirect: {} {}{}\n", outcome.redirect->helper == BPF_FUNC_redirect ? "ifindex" : "map key",
                       outcome.redirect->target,
                       outcome.redirect->map ? fmt::format(" of map '{}'", outcome.redirect->map->name()) : "");
        if (!trace.empty()) {
            fmt::print("trace output:\n");
            for (const auto& line : trace) fmt::print("  {}\n", line);
        }
        for (const auto& record : perf) fmt::print("perf event ({} cpu {}): {}\n", record.map, record.cpu, spaced_hex(record.data));
        if (!maps.empty()) fmt::print("maps:\n");
        for (const auto& dump : maps) {
            fmt::print("  {} ({}, key {} value {} max {})", dump.name, dump.type, dump.key_size, dump.value_size, dump.max_entries);
            if (dump.type == "ringbuf") fmt::print(": {} record(s), {} dropped", dump.records.size(), dump.dropped);
            fmt::print("\n");
            for (const auto& [key, value] : dump.entries) fmt::print("    {}: {}\n", spaced_hex(key), spaced_hex(value));
            for (const auto& record : dump.records) fmt::print("    {}\n", spaced_hex(record));
            if (dump.entries_left)
                fmt::print("    ... {} more non-zero {} (--all-map-entries shows them)\n", dump.entries_left,
                           dump.entries_left == 1 ? "entry" : "entries");
            if (dump.values_cut) fmt::print("    (values cut at {} bytes; --all-map-entries shows them whole)\n", limits.value_bytes);
            if (dump.zero_entries)
                fmt::print("    {} all-zero {} not shown\n", dump.zero_entries, dump.zero_entries == 1 ? "entry" : "entries");
        }
        if (ns_per_run) fmt::print("repeat: {} runs, {:.1f} ns per run\n", options.repeat, *ns_per_run);
    }
    return outcome.result ? ExitOk : ExitRejected;
}

}  // namespace

void register_run_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<RunCommandOptions>();
    auto* command = app.add_subcommand("run", "Run a program in the runtime (after verifying it)");
    command->add_option("file", options->file, "eBPF ELF object, raw bytecode (.bin) or assembly (.s, .asm, .data)")->required();
    command->add_option("--section,-s", options->section, "The program's section or function name");
    command->add_option("--program,-p", options->program, "The program's function name");
    command->add_option("--packet", options->packet, "Packet bytes: HEX or @FILE");
    command->add_option("--ctx", options->context, "Context bytes (tracing blob, or leading xdp_md/__sk_buff fields): HEX or @FILE");
    command->add_option("--mem", options->memory, "Raw/asm input: the memory r1 points to (r2 = its length): HEX or @FILE");
    command->add_option("--input-format", options->input_format, "elf, raw or asm (default: by extension)")
        ->check(CLI::IsMember({"elf", "raw", "asm"}));
    command->add_option("--type,-t", options->type, "Program type (kernel name, e.g. xdp), overriding the section");
    command->add_option("--repeat", options->repeat, "Also time N more runs and print the mean ns per run");
    command->add_option("--engine", options->engine,
                        "Execution engine: jit (the default for verified programs) or interp (the default with --no-verify)")
        ->check(CLI::IsMember({"interp", "jit"}));
    command->add_option("--format,-f", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    command->add_option("--budget", options->budget, "Instruction budget per run (default 100000000)");
    command->add_option("--cpus", options->cpus, "Per-CPU slots of per-CPU maps (default 1)");
    command->add_flag("--no-verify", options->no_verify, "Run without verifying first");
    command->add_flag("--all-map-entries", options->all_map_entries,
                      "Print every map entry, all-zero ones included, and whole values (default: the first 64 "
                      "non-zero entries per map, values up to 4096 bytes)");
    command->add_option("--map-memory", options->map_memory_mib,
                        "MiB the maps of the object may take together (default 1024)")
        ->check(CLI::PositiveNumber);
    command->add_flag("--unchecked", options->unchecked, "Interpreter: skip the per-access memory checks (trust the verifier)");
    command->callback([options, &action] { action = [options] { return run_program(*options); }; });
}

}  // namespace bpfvet::tools
