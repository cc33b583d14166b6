// Runtime benchmarks: map lookup/update ns per operation (array and hash, one
// and two threads), and interpreter ns per run on the ../shared/bench
// programs, compiled with clang-19 -O2 -g -target bpf when the benchmark starts.
//
//   build/bench/bpfvet_bench_runtime --benchmark_filter=Map
//   build/bench/bpfvet_bench_runtime --benchmark_filter=Interpreter
#include "runtime/runtime.hpp"

#include <benchmark/benchmark.h>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>

#if __has_include("../../shared/bench/packet.h")
#include "../../shared/bench/packet.h"
#define BPFVET_HAVE_BENCH_PACKET 1
#endif

#ifndef BPFVET_SHARED_DIR
#define BPFVET_SHARED_DIR "../shared"
#endif
#ifndef BPFVET_CLANG
#define BPFVET_CLANG "clang-19"
#endif

namespace {

using namespace bpfvet;
using runtime::Map;

constexpr unsigned Workers = 2;
constexpr uint32_t Entries = 1024;

// One map per type shared by the benchmark's threads (Google Benchmark runs
// the same function on each thread; thread 0 sets up).
Map& shared_map(ir::MapType type) {
    static std::map<ir::MapType, std::unique_ptr<Map>> maps;
    static std::mutex lock;
    std::lock_guard guard(lock);
    auto& map = maps[type];
    if (!map) {
        ir::MapDefinition definition;
        definition.name = "bench";
        definition.type = type;
        definition.key_size = 4;
        definition.value_size = 16;
        definition.max_entries = Entries;
        map = std::move(*runtime::create_map(definition, Workers, {}));
        uint64_t value[2] = {1, 2};
        for (uint32_t key = 0; key < Entries; ++key) map->update(&key, value, runtime::UpdateAny, 0);
    }
    return *map;
}

void MapLookup(benchmark::State& state, ir::MapType type) {
    Map& map = shared_map(type);
    unsigned cpu = unsigned(state.thread_index()) % Workers;
    uint32_t key = uint32_t(state.thread_index()) * 7;
    for (auto _ : state) {
        key = (key + 1) & (Entries - 1);
        benchmark::DoNotOptimize(map.lookup(&key, cpu));
    }
    state.SetItemsProcessed(state.iterations());
}

void MapUpdate(benchmark::State& state, ir::MapType type) {
    Map& map = shared_map(type);
    unsigned cpu = unsigned(state.thread_index()) % Workers;
    uint32_t key = uint32_t(state.thread_index()) * 7;
    uint64_t value[2] = {3, 4};
    for (auto _ : state) {
        key = (key + 1) & (Entries - 1);
        benchmark::DoNotOptimize(map.update(&key, value, runtime::UpdateAny, cpu));
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(MapLookup, array, ir::MapType::Array)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(MapLookup, hash, ir::MapType::Hash)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(MapUpdate, array, ir::MapType::Array)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(MapUpdate, hash, ir::MapType::Hash)->Threads(1)->Threads(2)->UseRealTime();

// ---------------------------------------------------------------- interpreter

std::filesystem::path compiled_object(const std::string& name) {
    namespace fs = std::filesystem;
    fs::path source = fs::path(BPFVET_SHARED_DIR) / "bench" / (name + ".c");
    fs::path out = fs::temp_directory_path() / fmt::format("bpfvet-runtime-bench-{}.o", name);
    if (!fs::exists(source)) return {};
    std::string command = fmt::format("{} -O2 -g -target bpf -c '{}' -o '{}' 2>/dev/null", BPFVET_CLANG,
                                      source.string(), out.string());
    if (std::system(command.c_str()) != 0) return {};
    return out;
}

void Interpreter(benchmark::State& state, const std::string& name, bool checked) {
#ifndef BPFVET_HAVE_BENCH_PACKET
    state.SkipWithError("../shared/bench/packet.h not found");
    return;
#else
    auto path = compiled_object(name);
    if (path.empty()) {
        state.SkipWithError("cannot compile the benchmark program (../shared/bench or clang-19 missing)");
        return;
    }
    auto object = runtime::LoadedObject::open(path.string());
    if (!object) {
        state.SkipWithError(object.error().to_string().c_str());
        return;
    }
    const auto& programs = (*object)->object().programs;
    auto program = (*object)->program(programs.at(0).section);
    if (!program) {
        state.SkipWithError(program.error().to_string().c_str());
        return;
    }
    std::vector<uint8_t> packet(BENCH_PKT_LEN);
    bench_make_packet(packet.data());
    runtime::Runner runner(**object, **program, 0);
    runtime::RunInput input;
    input.packet = packet;
    (void)runner.set_input(std::move(input));
    runtime::RunOptions options;
    options.checked = checked;
    options.restore_input = false;  // these programs do not write the packet
    auto first = runner.run_fast(options);
    if (!first) {
        state.SkipWithError(first.error().to_string().c_str());
        return;
    }
    state.counters["r0_first_run"] = double(first->return_value);
    state.counters["instructions"] = double(first->instructions);
    for (auto _ : state) benchmark::DoNotOptimize(runner.run_fast(options));
#endif
}

const char* const Programs[] = {"null", "checksum", "parse", "flowhash", "alu", "strstr", "sort", "muldiv", "calls"};

[[maybe_unused]] const bool registered = [] {
    for (const char* name : Programs) {
        benchmark::RegisterBenchmark(fmt::format("Interpreter/{}", name).c_str(),
                                     [name](benchmark::State& state) { Interpreter(state, name, false); });
        benchmark::RegisterBenchmark(fmt::format("InterpreterChecked/{}", name).c_str(),
                                     [name](benchmark::State& state) { Interpreter(state, name, true); });
    }
    return true;
}();

}  // namespace
