// Input synthesis: static-shape tensors drawn inside the domains the consuming ops declare.
#include "generators/inputs.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>

#include "generators/model_io.h"
#include "generators/op_spec.h"

namespace onnxfuzz {

namespace {

// Unconstrained floats are drawn here: wide enough to exercise signs, small enough to stay finite.
constexpr Interval kFloatRange{-2.0, 2.0};
// Integers (often indices or sizes) are drawn in [0, kIntMax].
constexpr int64_t kIntMax = 3;

// Range for one float input: kFloatRange narrowed by every direct consumer's input domain.
Interval float_range(const onnx::GraphProto& graph, const std::string& name) {
  Interval range = kFloatRange;
  double min_magnitude = 0;
  for (const auto& node : graph.node()) {
    if (!node.domain().empty()) continue;
    const OpSpec* spec = find_op_spec(node.op_type());
    if (!spec) continue;
    for (int i = 0; i < node.input_size(); ++i) {
      if (node.input(i) != name) continue;
      const ValueDomain& domain = spec->input_domain(static_cast<size_t>(i));
      const Interval narrowed = range.intersect(domain.allowed);
      if (narrowed.lo <= narrowed.hi) range = narrowed;  // conflicting domains: keep the last fit
      min_magnitude = std::max(min_magnitude, domain.min_magnitude);
    }
  }
  if (min_magnitude > 0 && range.hi >= min_magnitude) range.lo = std::max(range.lo, min_magnitude);
  return range;
}

}  // namespace

std::expected<InputShapes, std::string> parse_input_shapes(std::string_view spec) {
  InputShapes shapes;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = item.rfind('=');
    if (eq == std::string_view::npos || eq == 0) {
      return std::unexpected(fmt::format("'{}': expected NAME=D0xD1x... (e.g. x=1x3x48x320)", item));
    }
    std::vector<int64_t> dims;
    std::string_view rest = item.substr(eq + 1);
    while (true) {
      const size_t x = rest.find('x');
      const std::string_view part = rest.substr(0, x);
      int64_t dim = -1;
      const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), dim);
      if (part.empty() || error != std::errc() || end != part.data() + part.size() || dim < 0) {
        return std::unexpected(fmt::format("'{}': '{}' is not a dim (an integer >= 0)", item, part));
      }
      dims.push_back(dim);
      if (x == std::string_view::npos) break;
      rest = rest.substr(x + 1);
    }
    shapes[std::string(item.substr(0, eq))] = std::move(dims);
  }
  return shapes;
}

std::string format_input_shapes(const InputShapes& shapes) {
  std::vector<std::string> items;
  for (const auto& [name, dims] : shapes) items.push_back(fmt::format("{}={}", name, fmt::join(dims, "x")));
  return fmt::format("{}", fmt::join(items, ","));
}

std::expected<void, std::string> fix_input_shapes(onnx::ModelProto& model,
                                                  const InputShapes& shapes) {
  onnx::ModelProto fixed = model;
  for (const auto& [name, dims] : shapes) {
    onnx::ValueInfoProto* input = nullptr;
    for (auto& candidate : *fixed.mutable_graph()->mutable_input()) {
      if (candidate.name() == name) input = &candidate;
    }
    if (!input) {
      std::vector<std::string> names;
      for (const auto& in : model.graph().input()) names.push_back(in.name());
      return std::unexpected(fmt::format("--input-shape: the model has no input '{}' (inputs: {})",
                                         name, fmt::join(names, ", ")));
    }
    auto* shape = input->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != 0 && shape->dim_size() != static_cast<int>(dims.size())) {
      return std::unexpected(fmt::format("--input-shape: input '{}' has rank {}, not {}", name,
                                         shape->dim_size(), dims.size()));
    }
    if (shape->dim_size() == 0) {
      for (size_t i = 0; i < dims.size(); ++i) shape->add_dim();
    }
    for (int i = 0; i < shape->dim_size(); ++i) {
      auto* dim = shape->mutable_dim(i);
      if (dim->has_dim_value() && dim->dim_value() != dims[static_cast<size_t>(i)]) {
        return std::unexpected(fmt::format("--input-shape: input '{}' dim {} is {}, not {}", name,
                                           i, dim->dim_value(), dims[static_cast<size_t>(i)]));
      }
      dim->set_dim_value(dims[static_cast<size_t>(i)]);
    }
  }
  model = std::move(fixed);
  return {};
}

TensorMap synthesize_inputs(const onnx::ModelProto& model, Rng& rng) {
  TensorMap out;
  const auto& graph = model.graph();
  for (const onnx::ValueInfoProto* info : runtime_inputs(graph)) {
    if (!info->type().has_tensor_type()) continue;
    const auto& tensor_type = info->type().tensor_type();
    if (!dtype_supported(tensor_type.elem_type())) continue;
    Shape shape;
    for (const auto& dim : tensor_type.shape().dim()) {
      shape.push_back(dim.has_dim_value() && dim.dim_value() >= 0 ? dim.dim_value() : 1);
    }
    const DType dtype = static_cast<DType>(tensor_type.elem_type());
    Tensor t = Tensor::zeros(dtype, shape);
    if (is_float(dtype)) {
      const Interval r = float_range(graph, info->name());
      for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, rng.uniform_real(r.lo, r.hi));
    } else {
      const int64_t hi = dtype == DType::kBool ? 1 : kIntMax;
      for (int64_t i = 0; i < t.numel(); ++i)
        t.set_double(i, static_cast<double>(rng.uniform_int(0, hi)));
    }
    out.emplace(info->name(), std::move(t));
  }
  return out;
}

}  // namespace onnxfuzz
