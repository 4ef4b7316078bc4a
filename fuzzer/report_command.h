// `onnxfuzz report CASE_DIR`: re-runs a stored case and (re)writes its issue-ready report.md,
// repro.mjs and repro.py, with the fault localization of numeric and shape findings.
#pragma once

#include <span>

#include "fuzzer/flags.h"

namespace onnxfuzz {

extern const std::span<const FlagSpec> kReportFlags;
int command_report(const ParsedFlags& flags);

}  // namespace onnxfuzz
