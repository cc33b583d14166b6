// Loading the shared corpus: ELF parsing, BTF, relocation, linking, validation,
// and CFG construction. Prints objects, programs and instructions per run.
#include "ir/cfg.hpp"
#include "ir/elf_loader.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

struct CorpusFile {
    std::string name;
    std::vector<uint8_t> bytes;
};

std::vector<CorpusFile> read_corpus() {
    std::vector<CorpusFile> files;
    std::filesystem::path root = std::filesystem::path(BPFVET_SHARED_DIR) / "corpus" / "ebpf-samples";
    if (!std::filesystem::is_directory(root)) return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".o") continue;
        if (entry.path().parent_path().filename() == "invalid") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        files.push_back({entry.path().string(), std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {})});
    }
    return files;
}

void BM_LoadSharedCorpus(benchmark::State& state) {
    static const auto files = read_corpus();
    if (files.empty()) {
        state.SkipWithError("shared corpus absent");
        return;
    }
    size_t programs = 0, instructions = 0;
    for (auto _ : state) {
        programs = instructions = 0;
        for (const auto& file : files) {
            auto object = bpfvet::ir::load_object_from_memory(file.bytes, file.name);
            if (!object) {
                state.SkipWithError(object.error().to_string().c_str());
                return;
            }
            programs += object->programs.size();
            for (const auto& p : object->programs) instructions += p.instructions.size();
            benchmark::DoNotOptimize(object);
        }
    }
    state.counters["objects"] = double(files.size());
    state.counters["programs"] = double(programs);
    state.counters["instructions"] = double(instructions);
}
BENCHMARK(BM_LoadSharedCorpus)->Unit(benchmark::kMillisecond);

void BM_LoadAndBuildCfgs(benchmark::State& state) {
    static const auto files = read_corpus();
    if (files.empty()) {
        state.SkipWithError("shared corpus absent");
        return;
    }
    for (auto _ : state) {
        for (const auto& file : files) {
            auto object = bpfvet::ir::load_object_from_memory(file.bytes, file.name);
            for (const auto& p : object->programs) benchmark::DoNotOptimize(bpfvet::ir::build_cfg(p));
        }
    }
}
BENCHMARK(BM_LoadAndBuildCfgs)->Unit(benchmark::kMillisecond);

}  // namespace
