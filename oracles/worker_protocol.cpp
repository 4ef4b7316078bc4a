// Worker wire format: bounds-checked little-endian encoding of requests, responses and frames.
#include "oracles/worker_protocol.h"

#include <errno.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <nlohmann/json.hpp>
#include <optional>
#include <cstring>
#include <limits>
#include <string_view>

namespace onnxfuzz {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the worker protocol copies integers as-is and assumes a little-endian host");

// ONNX allows rank up to 2^63 in principle; anything beyond this is a corrupted record.
constexpr uint32_t kMaxRank = 64;

template <class T>
void put(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put<uint32_t>(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

void put_tensor(std::string& out, std::string_view name, const Tensor& value) {
  put_bytes(out, name);
  put<int32_t>(out, static_cast<int32_t>(value.dtype));
  put<uint32_t>(out, static_cast<uint32_t>(value.shape.size()));
  for (int64_t d : value.shape) put<int64_t>(out, d);
  put<uint64_t>(out, value.bytes.size());
  out.append(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size());
}

void put_tensor(std::string& out, const NamedTensor& named) {
  put_tensor(out, named.name, named.value);
}

// A read cursor over an untrusted payload: every read is checked against what is left, and
// the first failure is remembered so decoders can read a whole record and check once.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}

  template <class T>
  std::expected<T, std::string> get(std::string_view what) {
    if (left() < sizeof(T)) return truncated(what, sizeof(T));
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::expected<std::string_view, std::string> take(uint64_t n, std::string_view what) {
    if (left() < n) return truncated(what, n);
    std::string_view bytes = data_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return bytes;
  }

  std::expected<std::string, std::string> get_string(std::string_view what) {
    auto length = get<uint32_t>(what);
    if (!length) return std::unexpected(length.error());
    auto bytes = take(*length, what);
    if (!bytes) return std::unexpected(bytes.error());
    return std::string(*bytes);
  }

  size_t left() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }

 private:
  std::unexpected<std::string> truncated(std::string_view what, uint64_t need) const {
    return std::unexpected(
        fmt::format("truncated {} at offset {}: need {} bytes, {} left", what, pos_, need, left()));
  }

  std::string_view data_;
  size_t pos_ = 0;
};

std::expected<NamedTensor, std::string> get_tensor(Cursor& in) {
  NamedTensor named;
  auto name = in.get_string("tensor name");
  if (!name) return std::unexpected(name.error());
  named.name = std::move(*name);

  auto elem_type = in.get<int32_t>("tensor elem_type");
  if (!elem_type) return std::unexpected(elem_type.error());
  if (!dtype_supported(*elem_type)) {
    return std::unexpected(
        fmt::format("tensor '{}': unsupported elem_type {}", named.name, *elem_type));
  }
  named.value.dtype = static_cast<DType>(*elem_type);

  auto rank = in.get<uint32_t>("tensor rank");
  if (!rank) return std::unexpected(rank.error());
  if (*rank > kMaxRank) {
    return std::unexpected(
        fmt::format("tensor '{}': rank {} exceeds {}", named.name, *rank, kMaxRank));
  }
  // Compute the element count with overflow checks: a corrupt dim must not wrap into a
  // small, plausible byte count.
  const uint64_t elem_size = dtype_size(named.value.dtype);
  uint64_t numel = 1;
  for (uint32_t i = 0; i < *rank; ++i) {
    auto dim = in.get<int64_t>("tensor dims");
    if (!dim) return std::unexpected(dim.error());
    if (*dim < 0) {
      return std::unexpected(fmt::format("tensor '{}': negative dim {}", named.name, *dim));
    }
    const auto d = static_cast<uint64_t>(*dim);
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / elem_size / d) {
      return std::unexpected(fmt::format("tensor '{}': element count overflows", named.name));
    }
    numel *= d;
    named.value.shape.push_back(*dim);
  }

  auto byte_length = in.get<uint64_t>("tensor byte_length");
  if (!byte_length) return std::unexpected(byte_length.error());
  if (*byte_length != numel * elem_size) {
    return std::unexpected(fmt::format("tensor '{}': byte_length {} but shape {} of {} needs {}",
                                       named.name, *byte_length, shape_string(named.value.shape),
                                       dtype_name(named.value.dtype), numel * elem_size));
  }
  auto bytes = in.take(*byte_length, "tensor data");
  if (!bytes) return std::unexpected(bytes.error());
  named.value.bytes.resize(bytes->size());
  if (!bytes->empty()) std::memcpy(named.value.bytes.data(), bytes->data(), bytes->size());
  return named;
}

// Reads `count` tensor records; the count is checked against the bytes left so a corrupt
// count cannot trigger a huge reserve().
std::expected<std::vector<NamedTensor>, std::string> get_tensors(Cursor& in,
                                                                 std::string_view what) {
  auto count = in.get<uint32_t>(what);
  if (!count) return std::unexpected(count.error());
  // The smallest record (empty name, rank 0, empty data) is 4 + 4 + 4 + 8 bytes.
  constexpr size_t kMinRecord = 20;
  if (*count > in.left() / kMinRecord) {
    return std::unexpected(
        fmt::format("{} {} exceeds what the remaining {} bytes can hold", what, *count, in.left()));
  }
  std::vector<NamedTensor> tensors;
  tensors.reserve(*count);
  for (uint32_t i = 0; i < *count; ++i) {
    auto tensor = get_tensor(in);
    if (!tensor) return std::unexpected(fmt::format("record {}: {}", i, tensor.error()));
    tensors.push_back(std::move(*tensor));
  }
  return tensors;
}

std::expected<void, std::string> expect_end(const Cursor& in) {
  if (in.left() != 0) {
    return std::unexpected(fmt::format("{} trailing bytes after offset {}", in.left(), in.pos()));
  }
  return {};
}

}  // namespace

std::string encode_request(const WorkerRequest& request) {
  std::string out;
  put<uint32_t>(out, request.kind);
  if (request.kind == kRequestRun || request.kind == kRequestOptimize) {
    put_bytes(out, request.model_bytes);
  }
  if (request.kind == kRequestRun) {
    put<uint32_t>(out, static_cast<uint32_t>(request.inputs.size()));
    for (const NamedTensor& input : request.inputs) put_tensor(out, input);
  }
  return out;
}

std::string encode_run_request(std::string_view model_bytes, const TensorMap& inputs) {
  size_t size = 3 * sizeof(uint32_t) + model_bytes.size();
  for (const auto& [name, value] : inputs) {
    size += 2 * sizeof(uint32_t) + sizeof(int32_t) + name.size() +
            sizeof(int64_t) * value.shape.size() + sizeof(uint64_t) + value.bytes.size();
  }
  std::string out;
  out.reserve(size);
  put<uint32_t>(out, kRequestRun);
  put_bytes(out, model_bytes);
  put<uint32_t>(out, static_cast<uint32_t>(inputs.size()));
  for (const auto& [name, value] : inputs) put_tensor(out, name, value);
  return out;
}

std::string encode_run_variant_request(const RunVariant& variant, std::string_view model_bytes,
                                       const TensorMap& inputs) {
  nlohmann::json j = nlohmann::json::object();
  if (!variant.level.empty()) j["level"] = variant.level;
  if (!variant.disable.empty()) j["disable"] = variant.disable;
  const std::string run = encode_run_request(model_bytes, inputs);
  std::string out;
  put<uint32_t>(out, kRequestRunVariant);
  put_bytes(out, j.dump());
  out.append(run, sizeof(uint32_t), std::string::npos);  // the run payload after its kind
  return out;
}

std::expected<std::pair<RunVariant, std::string>, std::string> decode_run_variant(
    std::string_view payload_after_kind) {
  uint32_t length = 0;
  if (payload_after_kind.size() < sizeof(length))
    return std::unexpected(std::string("truncated request: variant length"));
  std::memcpy(&length, payload_after_kind.data(), sizeof(length));
  if (payload_after_kind.size() - sizeof(length) < length)
    return std::unexpected(std::string("truncated request: variant"));
  const auto j = nlohmann::json::parse(payload_after_kind.substr(sizeof(length), length), nullptr,
                                       /*allow_exceptions=*/false);
  if (!j.is_object()) return std::unexpected(std::string("run variant: expected a JSON object"));
  RunVariant variant;
  if (j.contains("level") && j["level"].is_string()) variant.level = j["level"];
  if (j.contains("disable") && j["disable"].is_array()) {
    for (const auto& name : j["disable"]) {
      if (!name.is_string()) return std::unexpected(std::string("run variant: bad optimizer name"));
      variant.disable.push_back(name.get<std::string>());
    }
  }
  return std::pair{std::move(variant),
                   std::string(payload_after_kind.substr(sizeof(length) + length))};
}

std::expected<WorkerRequest, std::string> decode_request(const std::string& payload) {
  Cursor in(payload);
  WorkerRequest request;
  auto kind = in.get<uint32_t>("request kind");
  if (!kind) return std::unexpected(kind.error());
  request.kind = *kind;
  if (request.kind == kRequestRun || request.kind == kRequestOptimize) {
    auto model = in.get_string("model bytes");
    if (!model) return std::unexpected(model.error());
    request.model_bytes = std::move(*model);
  }
  if (request.kind == kRequestRun) {
    auto inputs = get_tensors(in, "input count");
    if (!inputs) return std::unexpected(inputs.error());
    request.inputs = std::move(*inputs);
  } else if (request.kind != kRequestVersion && request.kind != kRequestDtypes &&
             request.kind != kRequestOptimize) {
    return std::unexpected(fmt::format("unknown request kind {}", request.kind));
  }
  if (auto end = expect_end(in); !end) return std::unexpected(end.error());
  return request;
}

std::string encode_response(const WorkerResponse& response) {
  std::string out;
  put<uint32_t>(out, response.status);
  if (response.status == kResponseError) {
    put_bytes(out, response.text);
  } else if (!response.text.empty() && response.outputs.empty()) {
    // A version answer: the payload alone does not say which request it answers, so an ok
    // response with text and no outputs is written as the version form.
    put_bytes(out, response.text);
  } else {
    put<uint32_t>(out, static_cast<uint32_t>(response.outputs.size()));
    for (const NamedTensor& output : response.outputs) put_tensor(out, output);
  }
  return out;
}

std::expected<WorkerResponse, std::string> decode_response(const std::string& payload) {
  Cursor in(payload);
  WorkerResponse response;
  auto status = in.get<uint32_t>("response status");
  if (!status) return std::unexpected(status.error());
  response.status = *status;
  if (response.status == kResponseError) {
    auto text = in.get_string("error message");
    if (!text) return std::unexpected(text.error());
    response.text = std::move(*text);
  } else if (response.status == kResponseOk) {
    // The ok form is either `count, records` (run) or `length, text` (version), and the
    // payload does not say which request it answers. Sizes decide: every record is at least
    // 20 bytes, so a text of L > 0 bytes cannot hold L records, and N > 0 records always
    // leave more than N bytes. Only the empty answer fits both, and both readings agree.
    Cursor run_form = in;
    auto outputs = get_tensors(run_form, "output count");
    if (outputs && expect_end(run_form)) {
      response.outputs = std::move(*outputs);
      in = run_form;
    } else {
      Cursor text_form = in;
      auto text = text_form.get_string("version text");
      if (!text || !expect_end(text_form)) {
        return std::unexpected(outputs ? "malformed ok response" : outputs.error());
      }
      response.text = std::move(*text);
      in = text_form;
    }
  } else {
    return std::unexpected(fmt::format("unknown response status {}", response.status));
  }
  if (auto end = expect_end(in); !end) return std::unexpected(end.error());
  return response;
}

std::string encode_carried_dtypes(const CarriedDtypes& dtypes) {
  nlohmann::json j;
  j["carried"] = nlohmann::json::array();
  for (DType d : dtypes.carried) j["carried"].push_back(static_cast<int32_t>(d));
  j["not_carried"] = nlohmann::json::array();
  for (const auto& [d, reason] : dtypes.not_carried) {
    j["not_carried"].push_back({{"elem_type", static_cast<int32_t>(d)}, {"reason", reason}});
  }
  return j.dump();
}

std::expected<CarriedDtypes, std::string> decode_carried_dtypes(std::string_view json) {
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    CarriedDtypes dtypes;
    std::vector<DType> seen;
    auto fresh = [&](int32_t code) -> std::expected<std::optional<DType>, std::string> {
      if (!dtype_supported(code)) return std::optional<DType>();
      const auto d = static_cast<DType>(code);
      if (std::ranges::find(seen, d) != seen.end()) {
        return std::unexpected(fmt::format("dtype {} listed twice", dtype_name(d)));
      }
      seen.push_back(d);
      return std::optional<DType>(d);
    };
    for (const auto& code : j.at("carried")) {
      auto d = fresh(code.get<int32_t>());
      if (!d) return std::unexpected(d.error());
      if (*d) dtypes.carried.push_back(**d);
    }
    for (const auto& row : j.at("not_carried")) {
      auto d = fresh(row.at("elem_type").get<int32_t>());
      if (!d) return std::unexpected(d.error());
      if (*d) dtypes.not_carried.emplace_back(**d, row.at("reason").get<std::string>());
    }
    return dtypes;
  } catch (const std::exception& e) {
    return std::unexpected(fmt::format("malformed dtypes answer: {}", e.what()));
  }
}

std::expected<std::string, std::string> read_frame(int fd) {
  auto read_exact = [fd](char* data, size_t n) -> std::expected<void, std::string> {
    size_t done = 0;
    while (done < n) {
      const ssize_t got = ::read(fd, data + done, n - done);
      if (got < 0) {
        if (errno == EINTR) continue;
        return std::unexpected(fmt::format("read failed: {}", std::strerror(errno)));
      }
      if (got == 0) {
        return std::unexpected(done == 0
                                   ? std::string("end of stream")
                                   : fmt::format("end of stream after {} of {} bytes", done, n));
      }
      done += static_cast<size_t>(got);
    }
    return {};
  };

  uint32_t length = 0;
  char header[sizeof(length)];
  if (auto ok = read_exact(header, sizeof(header)); !ok) return std::unexpected(ok.error());
  std::memcpy(&length, header, sizeof(length));
  if (length > kMaxFrameBytes) {
    return std::unexpected(
        fmt::format("frame length {} exceeds the limit {}", length, kMaxFrameBytes));
  }
  std::string payload(length, '\0');
  if (auto ok = read_exact(payload.data(), length); !ok) {
    return std::unexpected(fmt::format("frame body: {}", ok.error()));
  }
  return payload;
}

bool write_frame(int fd, const std::string& payload) {
  if (payload.size() > kMaxFrameBytes) return false;
  std::string frame;
  frame.reserve(sizeof(uint32_t) + payload.size());
  put<uint32_t>(frame, static_cast<uint32_t>(payload.size()));
  frame.append(payload);
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t wrote = ::write(fd, frame.data() + done, frame.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(wrote);
  }
  return true;
}

}  // namespace onnxfuzz
