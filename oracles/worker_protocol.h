// Framed stdin/stdout protocol between onnxfuzz and its worker processes (Node ORT, planted).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "generators/tensor.h"

namespace onnxfuzz {

// Wire format. All integers little-endian. A frame is  u32 payload_length, payload.
//
// Request payload (parent -> worker):
//   u32 kind                     1 = run, 2 = version query
//   run only:
//   u32 model_length, model bytes (serialized ModelProto)
//   u32 input_count, then per input a tensor record
// Response payload (worker -> parent):
//   u32 status                   0 = ok, 1 = error (a clean refusal: load or run failed)
//   status error:   u32 length, UTF-8 message
//   status ok, run: u32 output_count, then per output a tensor record (graph output order)
//   status ok, version: u32 length, UTF-8 version string
// Tensor record:
//   u32 name_length, name, i32 elem_type (onnx TensorProto enum), u32 rank, i64 dims[rank],
//   u64 byte_length, raw row-major bytes
inline constexpr uint32_t kRequestRun = 1;
inline constexpr uint32_t kRequestVersion = 2;
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
  std::string text;  // error message or version string
  std::vector<NamedTensor> outputs;
};

// Payload encoders/decoders (without the u32 frame length).
std::string encode_request(const WorkerRequest& request);
std::expected<WorkerRequest, std::string> decode_request(const std::string& payload);
std::string encode_response(const WorkerResponse& response);
std::expected<WorkerResponse, std::string> decode_response(const std::string& payload);

// Blocking frame I/O on file descriptors, for the worker side. read_frame returns an error
// value on EOF or a malformed length.
std::expected<std::string, std::string> read_frame(int fd);
bool write_frame(int fd, const std::string& payload);

}  // namespace onnxfuzz
