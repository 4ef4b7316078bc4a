// `onnxfuzz report CASE_DIR`: re-runs a stored case and (re)writes its issue-ready report.md,
// repro.mjs and repro.py, with the fault localization of numeric and shape findings.
#pragma once

#include <span>
#include <string>

#include "fuzzer/flags.h"
#include "fuzzer/localize.h"

namespace onnxfuzz {

extern const std::span<const FlagSpec> kReportFlags;
int command_report(const ParsedFlags& flags);

// report.md's "Fault localization" section for `loc`: the faulty node and the evidence that
// names it (replay, precision, overflow, tolerance), or why there is none (propagated,
// vanished, not run).
std::string localization_section(const Localization& loc);

}  // namespace onnxfuzz
