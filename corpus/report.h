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

}  // namespace onnxfuzz
