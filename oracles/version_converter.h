// The ONNX C++ version converter (libonnx's onnx::version_conversion::ConvertVersion) as a
// converter under test, run in a forked child so that an abort or a segfault inside libonnx is
// a finding, not the end of the fuzzer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace onnxfuzz {

enum class ConversionStatus {
  kOk,             // `converted` holds the converted model's bytes
  kError,          // the converter threw; `message` is its text
  kUnsupported,    // the converter says it cannot express the model at the target opset
  kCrash,          // the child died (signal, abnormal exit); `message` names the signal
  kTimeout,        // the child exceeded its time limit and was killed
  kResourceLimit,  // the child ran out of its memory limit
};

struct ConversionResult {
  ConversionStatus status = ConversionStatus::kOk;
  std::string message;
  std::string converted;  // serialized ModelProto, for kOk
};

struct ConversionLimits {
  double timeout_seconds = 10;
  int64_t memory_limit_mb = 4096;  // address space the child may add to the parent's
};

// Converts the serialized model `model_bytes` to default-domain opset `target_opset` in a
// forked child. Never throws.
//
// Test-only planted converter faults, read in the child from ONNXFUZZ_PLANTED_CONVERT
// ("crash=Relu,throw=Abs,swap=Sub"): `crash` raises SIGSEGV when the model has a node of
// that op, `throw` fails with "planted converter fault: <op>", `swap` swaps the first two
// inputs of every node of that op in the converted model (a silently changed meaning),
// `invalid` renames that op to "<op>Planted" (a converted model the checker refuses).
ConversionResult convert_opset(const std::string& model_bytes, int target_opset,
                               const ConversionLimits& limits);

// Whether a converter error says that the conversion is not supported (no adapter for an op
// or version, a target outside the converter's range, a model the target opset cannot
// express) rather than that the converter failed on a model it supports.
bool is_unsupported_conversion(std::string_view message);

}  // namespace onnxfuzz
