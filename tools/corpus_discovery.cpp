#include "tools/corpus_discovery.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <tuple>

namespace bpfvet::tools::corpus {

namespace fs = std::filesystem;

bool looks_like_bpf_elf(const std::string& path) {
    std::array<unsigned char, 20> header{};
    std::ifstream in(path, std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(header.data()), header.size())) return false;
    if (header[0] != 0x7f || header[1] != 'E' || header[2] != 'L' || header[3] != 'F') return false;
    // e_machine is the 16-bit field at offset 18, in the byte order of e_ident[EI_DATA] (1 little, 2 big).
    const unsigned machine = header[5] == 2 ? (header[18] << 8 | header[19]) : (header[19] << 8 | header[18]);
    constexpr unsigned MachineNone = 0, MachineBpf = 247;
    return machine == MachineBpf || machine == MachineNone;
}

namespace {

bool wanted(const fs::path& path) { return path.extension() == ".o" || looks_like_bpf_elf(path.string()); }

}  // namespace

std::expected<std::vector<ObjectFile>, std::string> discover_objects(const std::vector<std::string>& roots) {
    std::vector<ObjectFile> objects;
    for (const std::string& root : roots) {
        std::error_code error;
        const fs::file_status status = fs::status(root, error);
        if (error || !fs::exists(status)) return std::unexpected(root + ": no such file or directory");
        if (fs::is_regular_file(status)) {
            objects.push_back({root, fs::path(root).filename().string()});
            continue;
        }
        if (!fs::is_directory(status)) return std::unexpected(root + ": neither a file nor a directory");
        const auto options = fs::directory_options::follow_directory_symlink | fs::directory_options::skip_permission_denied;
        for (fs::recursive_directory_iterator it(root, options, error), end; !error && it != end; it.increment(error)) {
            std::error_code ignored;
            if (!it->is_regular_file(ignored) || !wanted(it->path())) continue;
            objects.push_back({it->path().string(), it->path().lexically_relative(root).generic_string()});
        }
        if (error) return std::unexpected(root + ": " + error.message());
    }
    auto order = [](const ObjectFile& o) { return std::tie(o.relative, o.path); };
    std::ranges::sort(objects, {}, order);
    auto [first, last] = std::ranges::unique(objects, {}, order);  // the same root given twice
    objects.erase(first, last);
    // The relative path is the key in the results: two roots holding the same
    // relative path would be indistinguishable there.
    for (size_t i = 1; i < objects.size(); ++i)
        if (objects[i].relative == objects[i - 1].relative)
            return std::unexpected("two objects would share the key '" + objects[i].relative + "' (" + objects[i - 1].path +
                                   " and " + objects[i].path + "); run them as separate corpora");
    return objects;
}

}  // namespace bpfvet::tools::corpus
