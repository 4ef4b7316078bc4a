// Report: an issue-ready reproducer (report.md) for a stored case.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "corpus/case_store.h"

namespace onnxfuzz {

// Markdown for an upstream bug report: summary, the minimized model in ONNX text format, the
// inputs, observed vs expected behaviour, a self-contained Python reproducer using only onnx
// and onnxruntime, and the versions involved.
std::string render_report(const CaseRecord& record, const onnx::ModelProto& model,
                          const TensorMap& inputs, const TensorMap& expected_outputs);

// What `onnxfuzz report` adds to a case's report once it has re-run the case: sections
// rendered from fresh results, and the machine's platform for ORT's bug template.
struct ReportExtras {
  std::string comparison;    // Markdown: expected (and who agrees) vs actual, max abs/rel error
  std::string localization;  // Markdown: the fault localization section
  std::string bisect;        // Markdown: the releases that fail the same way, when bisected
  std::string os;            // "Debian GNU/Linux 12 (bookworm)"
  std::string architecture;  // "x86_64"
  bool repro_files = false;  // repro.mjs and repro.py are written next to report.md
};

// The same report, laid out along ONNX Runtime's bug template (describe the issue, to
// reproduce, urgency, platform, OS version, installation, version, API, architecture,
// execution provider), with `extras` filled in.
std::string render_report(const CaseRecord& record, const onnx::ModelProto& model,
                          const TensorMap& inputs, const TensorMap& expected_outputs,
                          const ReportExtras& extras);

// A standalone onnxruntime-node script for the case directory: decodes model.onnx's
// test_data_set_0 inputs and expected outputs (TensorProto .pb files), runs the model with the
// case's optimization level, prints every output against the expected one and exits 1 when the
// finding reproduces (outputs outside the case's tolerance; for a rejection, an error), 0 when
// it does not, 2 when it fails another way.
std::string render_repro_mjs(const CaseRecord& record);
// Whether a stored case gets repro.mjs and repro.py (findings on an ONNX Runtime execution).
bool writes_repro_files(const CaseRecord& record);
// The same check in Python (onnx + onnxruntime + numpy); not run by onnxfuzz.
std::string render_repro_py(const CaseRecord& record);
// The ORT graph optimization level an execution name stands for, as onnxruntime-node spells
// it: "disabled", "basic", "extended" or "all".
std::string ort_node_level(const std::string& execution);

}  // namespace onnxfuzz
