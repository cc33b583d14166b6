// Graphviz DOT for a program's CFGs: one cluster per function, blocks labelled
// with their instructions and, where BTF has them, the source lines.
#pragma once

#include "ir/cfg.hpp"

#include <string>

namespace bpfvet::ir {

[[nodiscard]] std::string cfg_to_dot(const Program& program, const ProgramCfg& cfg, const Object* object);

}  // namespace bpfvet::ir
