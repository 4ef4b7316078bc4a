// Model loading, deterministic serialization and validation through the ONNX C++ library.
#include "generators/model_io.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace onnxfuzz {

std::expected<onnx::ModelProto, std::string> parse_model(const std::string& bytes) {
  if (bytes.empty()) return std::unexpected(std::string("empty model (0 bytes)"));
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    return std::unexpected(std::string("not a valid ONNX model (corrupt or truncated protobuf)"));
  }
  if (!model.has_graph()) return std::unexpected(std::string("not an ONNX model: it has no graph"));
  return model;
}

std::expected<onnx::ModelProto, std::string> load_model(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::unexpected(fmt::format("{}: no such file", path));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return std::unexpected(fmt::format("{}: is a directory, expected a .onnx file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("{}: cannot open for reading", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto model = parse_model(buffer.str());
  if (!model) return std::unexpected(fmt::format("{}: {}", path, model.error()));
  const auto dir = std::filesystem::absolute(path, ec).parent_path();
  if (auto loaded = load_external_data(*model, dir.string()); !loaded) {
    return std::unexpected(fmt::format("{}: {}", path, loaded.error()));
  }
  return model;
}

namespace {

// Every tensor of the graph and its subgraphs that may hold external data.
void collect_tensors(onnx::GraphProto& graph, std::vector<onnx::TensorProto*>& out) {
  for (auto& t : *graph.mutable_initializer()) out.push_back(&t);
  for (auto& node : *graph.mutable_node()) {
    for (auto& attribute : *node.mutable_attribute()) {
      if (attribute.has_t()) out.push_back(attribute.mutable_t());
      for (auto& t : *attribute.mutable_tensors()) out.push_back(&t);
      if (attribute.has_g()) collect_tensors(*attribute.mutable_g(), out);
      for (auto& g : *attribute.mutable_graphs()) collect_tensors(g, out);
    }
  }
}

// The file `location` names, inside `root` (canonical), or why not.
std::expected<std::filesystem::path, std::string> external_file(const std::filesystem::path& root,
                                                                const std::string& location) {
  namespace fs = std::filesystem;
  const fs::path relative(location);
  if (location.empty()) return std::unexpected(std::string("empty location"));
  if (relative.is_absolute() || relative.has_root_name() || relative.has_root_directory()) {
    return std::unexpected(fmt::format(
        "location '{}' is an absolute path; external data must lie in the model's directory",
        location));
  }
  for (const auto& part : relative) {
    if (part == "..") {
      return std::unexpected(fmt::format(
          "location '{}' contains '..'; external data must lie in the model's directory",
          location));
    }
  }
  std::error_code ec;
  const fs::path file = fs::canonical(root / relative, ec);
  if (ec) return std::unexpected(fmt::format("location '{}': {}", location, ec.message()));
  const auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (root_end != root.end()) {
    return std::unexpected(fmt::format(
        "location '{}' resolves to {} (through a symlink), outside the model's directory {}",
        location, file.string(), root.string()));
  }
  if (!fs::is_regular_file(file, ec)) {
    return std::unexpected(fmt::format("location '{}' is not a regular file", location));
  }
  return file;
}

}  // namespace

std::expected<void, std::string> load_external_data(onnx::ModelProto& model,
                                                    const std::string& model_dir) {
  namespace fs = std::filesystem;
  std::vector<onnx::TensorProto*> tensors;
  collect_tensors(*model.mutable_graph(), tensors);
  std::vector<std::pair<onnx::TensorProto*, std::string>> loaded;
  std::error_code ec;
  fs::path root;
  for (onnx::TensorProto* tensor : tensors) {
    if (tensor->data_location() != onnx::TensorProto::EXTERNAL) continue;
    if (root.empty()) {
      root = fs::canonical(model_dir, ec);
      if (ec) return std::unexpected(fmt::format("model directory {}: {}", model_dir, ec.message()));
    }
    std::string location;
    int64_t offset = 0;
    int64_t length = -1;
    for (const auto& entry : tensor->external_data()) {
      try {
        if (entry.key() == "location") location = entry.value();
        if (entry.key() == "offset") offset = std::stoll(entry.value());
        if (entry.key() == "length") length = std::stoll(entry.value());
      } catch (const std::exception&) {
        return std::unexpected(fmt::format("tensor '{}': external data {} '{}' is not a number",
                                           tensor->name(), entry.key(), entry.value()));
      }
    }
    auto file = external_file(root, location);
    if (!file) {
      return std::unexpected(fmt::format("tensor '{}': external data {}", tensor->name(), file.error()));
    }
    const auto size = static_cast<int64_t>(fs::file_size(*file, ec));
    if (ec || offset < 0 || offset > size || (length >= 0 && offset + length > size)) {
      return std::unexpected(fmt::format(
          "tensor '{}': external data '{}' holds {} bytes, fewer than offset {} + length {}",
          tensor->name(), location, size, offset, length));
    }
    std::ifstream in(*file, std::ios::binary);
    std::string bytes(static_cast<size_t>(length >= 0 ? length : size - offset), '\0');
    in.seekg(offset);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
      return std::unexpected(fmt::format("tensor '{}': cannot read external data '{}'",
                                         tensor->name(), location));
    }
    loaded.emplace_back(tensor, std::move(bytes));
  }
  // All read: only now change the model.
  for (auto& [tensor, bytes] : loaded) {
    tensor->set_raw_data(std::move(bytes));
    tensor->clear_external_data();
    tensor->set_data_location(onnx::TensorProto::DEFAULT);
  }
  return {};
}

std::string serialize_model(const onnx::ModelProto& model) {
  std::string bytes;
  google::protobuf::io::StringOutputStream raw(&bytes);
  {
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    model.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::expected<onnx::ModelProto, std::string> parse_model_text(const std::string& text) {
  onnx::ModelProto model;
  onnx::OnnxParser parser(text.c_str());
  auto status = parser.Parse(model);
  if (!status.IsOK()) return std::unexpected(status.ErrorMessage());
  return model;
}

std::expected<void, std::string> check_model(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return std::unexpected(fmt::format("checker: {}", e.what()));
  }
  return {};
}

namespace {

// ONNX 1.12's shape inference divides by window attributes without checking them: a zero stride
// raises SIGFPE and takes the whole process down. The spec requires them positive, so such a
// model is refused here, before inference sees it.
std::expected<void, std::string> check_window_attributes(const onnx::GraphProto& graph) {
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.name() != "strides" && attr.name() != "dilations" &&
          attr.name() != "kernel_shape")
        continue;
      for (int64_t v : attr.ints()) {
        if (v < 1) {
          return std::unexpected(fmt::format("node '{}' ({}): attribute {} holds {}, must be >= 1",
                                             node.name(), node.op_type(), attr.name(), v));
        }
      }
    }
  }
  return {};
}

}  // namespace

std::expected<onnx::ModelProto, std::string> validate_model(const onnx::ModelProto& model) {
  if (auto checked = check_model(model); !checked) return std::unexpected(checked.error());
  if (auto windows = check_window_attributes(model.graph()); !windows)
    return std::unexpected(windows.error());
  onnx::ModelProto inferred = model;
  // ONNX 1.12's shape inference writes some node errors to std::cout before throwing them;
  // they would corrupt our stdout. The error reaches the caller through the exception.
  std::ostringstream swallowed;
  std::streambuf* const saved = std::cout.rdbuf(swallowed.rdbuf());
  struct RestoreCout {
    std::streambuf* buffer;
    ~RestoreCout() { std::cout.rdbuf(buffer); }
  } restore{saved};
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1,
                                        /*data_prop=*/false);
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    return std::unexpected(fmt::format("shape inference: {}", e.what()));
  }
  return inferred;
}

std::expected<ValueType, std::string> value_type_of(const onnx::ValueInfoProto& info) {
  if (!info.type().has_tensor_type()) {
    return std::unexpected(fmt::format("value '{}' is not a tensor", info.name()));
  }
  const auto& tensor_type = info.type().tensor_type();
  if (!dtype_supported(tensor_type.elem_type())) {
    return std::unexpected(fmt::format("value '{}' has unsupported element type {}", info.name(),
                                       tensor_type.elem_type()));
  }
  ValueType out;
  out.dtype = static_cast<DType>(tensor_type.elem_type());
  if (!tensor_type.has_shape()) {
    return std::unexpected(fmt::format("value '{}' has no shape", info.name()));
  }
  for (const auto& dim : tensor_type.shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0) {
      return std::unexpected(fmt::format("value '{}' has a symbolic or unknown dim", info.name()));
    }
    out.shape.push_back(dim.dim_value());
  }
  return out;
}

std::vector<const onnx::ValueInfoProto*> runtime_inputs(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::vector<const onnx::ValueInfoProto*> out;
  for (const auto& input : graph.input()) {
    if (!initializers.count(input.name())) out.push_back(&input);
  }
  return out;
}

std::vector<std::string> op_sequence(const onnx::GraphProto& graph) {
  std::vector<std::string> ops;
  for (const auto& node : graph.node()) ops.push_back(node.op_type());
  return ops;
}

}  // namespace onnxfuzz
