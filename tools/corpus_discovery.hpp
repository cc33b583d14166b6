// Finding the eBPF objects under the paths given to `bpfvet corpus`.
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace bpfvet::tools::corpus {

struct ObjectFile {
    std::string path;      // as opened
    std::string relative;  // relative to the root it was found under: part of the program's key
};

// Every regular file under each path (recursively, symlinks followed) that is
// an eBPF ELF object: ELF magic with machine EM_BPF (247) or EM_NONE, or a
// name ending in ".o" whatever its content (a corrupt object is bad input,
// not something to skip silently). A path naming a file is taken as is, keyed
// by its file name. Sorted by relative path; the same file found twice counts once, and two
// files with the same relative path are an error.
// Example: roots {"samples"} with samples/build/a.o and samples/notes.txt
// gives {{"samples/build/a.o", "build/a.o"}}.
[[nodiscard]] std::expected<std::vector<ObjectFile>, std::string> discover_objects(const std::vector<std::string>& roots);

// True when the first bytes are an ELF header for EM_BPF or EM_NONE
// (either byte order).
[[nodiscard]] bool looks_like_bpf_elf(const std::string& path);

}  // namespace bpfvet::tools::corpus
