// Where tests find reference material; the shared corpus may be absent.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace bpfvet::test {

inline std::filesystem::path shared_dir() { return BPFVET_SHARED_DIR; }
inline std::filesystem::path samples_dir() { return shared_dir() / "corpus" / "ebpf-samples"; }
inline bool have_samples() { return std::filesystem::is_directory(samples_dir()); }

// Every ELF object of the shared corpus outside invalid/, sorted.
inline std::vector<std::filesystem::path> sample_objects() {
    std::vector<std::filesystem::path> files;
    if (!have_samples()) return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(samples_dir())) {
        if (!entry.is_regular_file() || entry.path().extension() != ".o") continue;
        if (entry.path().parent_path().filename() == "invalid") continue;
        files.push_back(entry.path());
    }
    std::ranges::sort(files);
    return files;
}

}  // namespace bpfvet::test
