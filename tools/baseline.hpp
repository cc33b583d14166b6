// Known rejections (`check --baseline FILE`), in the spirit of SARIF
// baselines: a team gates on new errors only. The baseline is an earlier
// `bpfvet check --format sarif` or `--format json` output; each error is
// identified by its fingerprint (error code, program, source line, or the
// instruction index when BTF gives no line), which survives rebuilds that
// move instructions.
#pragma once

#include "tools/check_report.hpp"

#include <expected>
#include <set>
#include <string>
#include <string_view>

namespace bpfvet::tools {

class Baseline {
public:
    // Reads a SARIF log (its results' bpfvetLocation/v1 fingerprints) or our
    // JSON output (one object or {objects: [...]}). Paths in JSON are made
    // relative to `source_root` as in SARIF.
    [[nodiscard]] static std::expected<Baseline, std::string> read(const std::string& path, std::string_view source_root);

    [[nodiscard]] bool contains(const std::string& fingerprint) const { return fingerprints_.contains(fingerprint); }
    [[nodiscard]] size_t size() const { return fingerprints_.size(); }

private:
    std::set<std::string> fingerprints_;
};

// Marks each error of `report` as known (in the baseline) or new.
void mark_baseline(ProgramReport& report, const Baseline& baseline, std::string_view source_root);

}  // namespace bpfvet::tools
