// Framed stdin/stdout protocol between onnxfuzz and its worker processes (Node ORT, planted).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "generators/tensor.h"
#include "oracles/execution.h"

namespace onnxfuzz {

// Wire format. All integers little-endian. A frame is  u32 payload_length, payload.
//
// Request payload (parent -> worker):
//   u32 kind                     1 = run, 2 = version query, 3 = dtypes query, 4 = optimize,
//                                5 = run variant
//   run variant: u32 length, UTF-8 JSON {"level": "disabled"|"basic"|"extended"|"all",
//                "disable": ["NameA", "NameB"]} (each optional), then the run payload below
//   run and optimize:
//   u32 model_length, model bytes (serialized ModelProto)
//   run only:
//   u32 input_count, then per input a tensor record
// Response payload (worker -> parent):
//   u32 status                   0 = ok, 1 = error (a clean refusal: load or run failed)
//   status error:   u32 length, UTF-8 message
//   status ok, run: u32 output_count, then per output a tensor record (graph output order)
//   status ok, version: u32 length, UTF-8 version string
//   status ok, optimize: u32 length, the model as the backend's graph optimizer rewrote it
//                       (serialized ModelProto); only workers with an optimizer answer it
//   status ok, dtypes:  u32 length, UTF-8 JSON
//                       {"carried": [elem_type, ...],
//                        "not_carried": [{"elem_type": N, "reason": "..."}, ...]}
//                       naming every dtype of the table (generators/dtype.h) in one list
// Tensor record:
//   u32 name_length, name, i32 elem_type (onnx TensorProto enum), u32 rank, i64 dims[rank],
//   u64 byte_length, raw row-major bytes
inline constexpr uint32_t kRequestRun = 1;
inline constexpr uint32_t kRequestVersion = 2;
inline constexpr uint32_t kRequestDtypes = 3;
inline constexpr uint32_t kRequestOptimize = 4;
inline constexpr uint32_t kRequestRunVariant = 5;
inline constexpr uint32_t kResponseOk = 0;
inline constexpr uint32_t kResponseError = 1;
// Frames above this size are treated as protocol corruption.
inline constexpr uint32_t kMaxFrameBytes = 1u << 30;

struct NamedTensor {
  std::string name;
  Tensor value;
};

struct WorkerRequest {
  uint32_t kind = kRequestRun;
  std::string model_bytes;
  std::vector<NamedTensor> inputs;
};

struct WorkerResponse {
  uint32_t status = kResponseOk;
  std::string text;  // error message, version string, dtypes JSON or optimized model bytes
  std::vector<NamedTensor> outputs;
};

// How a run-variant request changes the worker's session options.
struct RunVariant {
  std::string level;                    // graph optimization level; empty: the worker's own
  std::vector<std::string> disable;     // optimizers (graph transformers, rewrite rules) off
};

// Payload encoders/decoders (without the u32 frame length).
std::string encode_request(const WorkerRequest& request);
// A run-variant request (kRequestRunVariant) of a model and its inputs.
std::string encode_run_variant_request(const RunVariant& variant, std::string_view model_bytes,
                                       const TensorMap& inputs);
// Its variant and the run payload after it; error value for a malformed variant.
std::expected<std::pair<RunVariant, std::string>, std::string> decode_run_variant(
    std::string_view payload_after_kind);
// encode_request of a run request, without copying the model and inputs into one first.
std::string encode_run_request(std::string_view model_bytes, const TensorMap& inputs);
std::expected<WorkerRequest, std::string> decode_request(const std::string& payload);
std::string encode_response(const WorkerResponse& response);
std::expected<WorkerResponse, std::string> decode_response(const std::string& payload);

// The dtypes answer's JSON. Decoding ignores element types outside the table (a worker may
// carry types onnxfuzz cannot hold) and rejects a dtype listed twice.
std::string encode_carried_dtypes(const CarriedDtypes& dtypes);
std::expected<CarriedDtypes, std::string> decode_carried_dtypes(std::string_view json);

// Blocking frame I/O on file descriptors, for the worker side. read_frame returns an error
// value on EOF or a malformed length.
std::expected<std::string, std::string> read_frame(int fd);
bool write_frame(int fd, const std::string& payload);

}  // namespace onnxfuzz
