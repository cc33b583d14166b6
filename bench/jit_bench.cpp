// The JIT against native C, the interpreter and the kernel's JIT on the
// ../shared/bench programs, side by side in one run (ns per run, real time):
//
//   Native/<p>       the C twin (clang-19 -O2 -DNATIVE, with maps.c), dlopen'ed
//   Jit/<p>          our JIT (O2); JitO3/<p> at O3
//   Interpreter/<p>  our interpreter, unchecked
//   Kernel/<p>       the running kernel's JIT through BPF_PROG_TEST_RUN
//                    (needs root; skipped otherwise); kernel-measured ns per run
//   JitCompile/<p>   compile time of one program by a fresh JitCompiler
//
// Every engine's first r0 on fresh maps (low 32 bits, what XDP returns) is the
// counter r0_first_run (they must agree). Ratios to native and their geometric mean:
//   bpfvet_bench_jit --benchmark_format=json > out.json && python3 bench/jit_ratios.py out.json
#include "jit/jit_runner.hpp"
#include "runtime/kernel_loader.hpp"
#include "runtime/memory.hpp"
#include "runtime/runtime.hpp"

#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <filesystem>
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <memory>

#if __has_include("../../shared/bench/packet.h")
#include "../../shared/bench/packet.h"
#define BPFVET_HAVE_BENCH_PACKET 1
#endif
#if __has_include("../../shared/bench/maps.h")
#include "../../shared/bench/maps.h"
#define BPFVET_HAVE_BENCH_MAPS 1
#endif

#ifndef BPFVET_SHARED_DIR
#define BPFVET_SHARED_DIR "../shared"
#endif

namespace {

namespace fs = std::filesystem;
using namespace bpfvet;

const char* const Programs[] = {"null", "checksum", "parse", "flowhash", "alu", "strstr", "sort", "muldiv", "calls"};

fs::path bench_source(const std::string& name) { return fs::path(BPFVET_SHARED_DIR) / "bench" / (name + ".c"); }

fs::path compiled_object(const std::string& name) {
    fs::path out = fs::temp_directory_path() / fmt::format("bpfvet-jit-bench-{}.o", name);
    if (!fs::exists(bench_source(name))) return {};
    std::string command = fmt::format("clang-19 -O2 -g -target bpf -c '{}' -o '{}' 2>/dev/null", bench_source(name).string(),
                                      out.string());
    return std::system(command.c_str()) == 0 ? out : fs::path();
}

// The native twin as a shared object: the program plus maps.c.
fs::path compiled_native(const std::string& name) {
    fs::path out = fs::temp_directory_path() / fmt::format("bpfvet-jit-bench-native-{}.so", name);
    fs::path maps = fs::path(BPFVET_SHARED_DIR) / "bench" / "maps.c";
    std::string command = fmt::format("clang-19 -O2 -DNATIVE -shared -fPIC '{}' '{}' -o '{}' 2>/dev/null",
                                      bench_source(name).string(), maps.string(), out.string());
    return std::system(command.c_str()) == 0 ? out : fs::path();
}

std::vector<uint8_t> bench_packet() {
    std::vector<uint8_t> packet(1500);
#ifdef BPFVET_HAVE_BENCH_PACKET
    packet.resize(BENCH_PKT_LEN);
    bench_make_packet(packet.data());
#endif
    return packet;
}

struct Loaded {
    std::unique_ptr<runtime::LoadedObject> object;
    const runtime::LoadedProgram* program = nullptr;
};

std::expected<Loaded, std::string> load(const std::string& name) {
    auto path = compiled_object(name);
    if (path.empty()) return std::unexpected(std::string("cannot compile the program (../shared/bench or clang-19 missing)"));
    auto object = runtime::LoadedObject::open(path.string());
    if (!object) return std::unexpected(object.error().to_string());
    auto program = (*object)->program((*object)->object().programs.at(0).section);
    if (!program) return std::unexpected(program.error().to_string());
    return Loaded{std::move(*object), *program};
}

// ---------------------------------------------------------------- engines

void Native(benchmark::State& state, const std::string& name) {
    auto loaded = load(name);  // for the function and map names
    auto library_path = compiled_native(name);
    if (!loaded || library_path.empty()) return state.SkipWithError("cannot build the native twin");
    void* library = dlopen(library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) return state.SkipWithError(dlerror());
    using Program = uint32_t (*)(void* context);
    auto* function = reinterpret_cast<Program>(dlsym(library, loaded->program->name.c_str()));
    auto* initialize = reinterpret_cast<void (*)(void*)>(dlsym(library, "bench_map_init"));
    if (!function || !initialize) return state.SkipWithError("native symbols missing");
    // Fresh maps, as every other engine gets: the library stays loaded between
    // the benchmark's calls of this function, so forget the previous call's maps
    // (their arena memory is not reused; a few calls leak a few hundred KiB).
    for (const auto& map : loaded->object->object().maps) {
        void* native_map = dlsym(library, map.name.c_str());
        if (!native_map) continue;
#ifdef BPFVET_HAVE_BENCH_MAPS
        static_cast<bench_map*>(native_map)->impl = nullptr;
#endif
        initialize(native_map);
    }
    // xdp_md holds 32-bit packet pointers: the packet lives below 4 GiB, as in our runtime.
    auto memory = runtime::LowMemory::allocate(8192);
    if (!memory) return state.SkipWithError("no low memory");
    auto packet = bench_packet();
    uint8_t* data = memory->data() + 256;
    std::memcpy(data, packet.data(), packet.size());
    struct XdpMd {
        uint32_t data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
    } context{uint32_t(uintptr_t(data)), uint32_t(uintptr_t(data + packet.size())), uint32_t(uintptr_t(data)), 1, 0, 0};
    state.counters["r0_first_run"] = double(function(&context));  // u32, as XDP returns
    for (auto _ : state) benchmark::DoNotOptimize(function(&context));
    // The library stays loaded: its code may still be referenced by the benchmark's bookkeeping.
}

jit::JitCompiler& shared_compiler(unsigned level) {
    static auto o2 = jit::JitCompiler::create({.optimization_level = 2});
    static auto o3 = jit::JitCompiler::create({.optimization_level = 3});
    return level >= 3 ? **o3 : **o2;
}

void Jit(benchmark::State& state, const std::string& name, unsigned level) {
    auto loaded = load(name);
    if (!loaded) return state.SkipWithError(loaded.error().c_str());
    // With the analyzer's facts, as `bpfvet run` compiles (the program is
    // verified first). Should our analyzer reject a program the kernel
    // accepts, it is still measured, without facts (counter facts = 0).
    auto facts = jit::verify_for_jit(*loaded->object, *loaded->program);
    state.counters["facts"] = facts ? 1 : 0;
    jit::JitRunner runner(*loaded->object, *loaded->program, shared_compiler(level), 0, facts ? &*facts : nullptr);
    if (auto prepared = runner.prepare(); !prepared) return state.SkipWithError(prepared.error().c_str());
    (void)runner.set_input({.packet = bench_packet()});
    auto first = runner.run_fast(true);
    if (!first) return state.SkipWithError(first.error().to_string().c_str());
    state.counters["r0_first_run"] = double(uint32_t(first->return_value));  // XDP returns the low 32 bits
    for (auto _ : state) benchmark::DoNotOptimize(runner.run_fast(false));  // these programs do not write the packet
}

void Interpreter(benchmark::State& state, const std::string& name) {
    auto loaded = load(name);
    if (!loaded) return state.SkipWithError(loaded.error().c_str());
    runtime::Runner runner(*loaded->object, *loaded->program, 0);
    (void)runner.set_input({.packet = bench_packet()});
    runtime::RunOptions options;
    options.checked = false;
    auto first = runner.run_fast(options);
    if (!first) return state.SkipWithError(first.error().to_string().c_str());
    state.counters["r0_first_run"] = double(uint32_t(first->return_value));  // XDP returns the low 32 bits
    options.restore_input = false;
    for (auto _ : state) benchmark::DoNotOptimize(runner.run_fast(options));
}

void JitCompile(benchmark::State& state, const std::string& name) {
    auto loaded = load(name);
    if (!loaded) return state.SkipWithError(loaded.error().c_str());
    auto facts = jit::verify_for_jit(*loaded->object, *loaded->program);  // analysis time not counted
    for (auto _ : state) {
        auto compiler = jit::JitCompiler::create({});
        auto start = std::chrono::steady_clock::now();
        auto entry = (*compiler)->compile(*loaded->program, facts ? &*facts : nullptr);
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (!entry) return state.SkipWithError(entry.error().c_str());
    }
}

// ---------------------------------------------------------------- the kernel

void Kernel(benchmark::State& state, const std::string& name) {
    auto loaded = load(name);
    if (!loaded) return state.SkipWithError(loaded.error().c_str());
    const auto& object = loaded->object->object();
    std::optional<runtime::kernel::KernelProgram> program;
    const auto result = runtime::kernel::load_in_kernel(object, object.programs.at(0), ir::ProgramType::Xdp, {}, &program);
    if (!program) return state.SkipWithError(("kernel: " + result.message + " " + result.first_error_line).c_str());
    auto packet = bench_packet();
    auto first = program->test_run(packet);
    if (!first) return state.SkipWithError(first.error().c_str());
    state.counters["r0_first_run"] = double(*first);
    constexpr uint32_t Repeat = 1000;
    for (auto _ : state) {
        auto nanoseconds = program->time_runs(packet, Repeat);
        if (!nanoseconds) return state.SkipWithError(nanoseconds.error().c_str());
        state.SetIterationTime(*nanoseconds * 1e-9);  // the kernel's average per run
    }
}

[[maybe_unused]] const bool registered = [] {
    for (const char* name : Programs) {
        std::string program = name;
        benchmark::RegisterBenchmark(fmt::format("Native/{}", name).c_str(), [program](auto& s) { Native(s, program); })->UseRealTime();
        benchmark::RegisterBenchmark(fmt::format("Jit/{}", name).c_str(), [program](auto& s) { Jit(s, program, 2); })->UseRealTime();
        benchmark::RegisterBenchmark(fmt::format("JitO3/{}", name).c_str(), [program](auto& s) { Jit(s, program, 3); })->UseRealTime();
        benchmark::RegisterBenchmark(fmt::format("Interpreter/{}", name).c_str(), [program](auto& s) { Interpreter(s, program); })->UseRealTime();
        benchmark::RegisterBenchmark(fmt::format("Kernel/{}", name).c_str(), [program](auto& s) { Kernel(s, program); })
            ->UseManualTime()->Iterations(200);
        benchmark::RegisterBenchmark(fmt::format("JitCompile/{}", name).c_str(), [program](auto& s) { JitCompile(s, program); })
            ->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace
