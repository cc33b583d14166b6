// libbpf creates every map of an object before it loads any program, so a map
// the kernel cannot create (runtime/map_limits.hpp: its size limits) fails the
// load of every program of the object: `check` rejects them all, saying which
// map and why, at the program's first reference to it (else its first instruction).
#pragma once

#include "analyzer/analyzer.hpp"
#include "ir/program.hpp"

namespace bpfvet::tools {

// Adds one invalid-map-reference error per map of `object` the kernel refuses
// to `result` (which then rejects); nothing when every map can be created.
void reject_for_uncreatable_maps(const ir::Object& object, const ir::Program& program, analyzer::AnalysisResult& result);

}  // namespace bpfvet::tools
