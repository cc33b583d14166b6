// Which bpfvet this is: `git describe` of the source tree at configure time
// (tools/CMakeLists.txt), "dev" outside a git checkout. Shown by --version and
// written into corpus records, so results made by different builds are told apart.
#pragma once

namespace bpfvet::tools {

#ifdef BPFVET_VERSION
inline constexpr const char* BuildVersion = BPFVET_VERSION;
#else
inline constexpr const char* BuildVersion = "dev";
#endif

}  // namespace bpfvet::tools
