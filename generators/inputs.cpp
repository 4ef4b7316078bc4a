// Input synthesis: static-shape tensors drawn inside the domains the consuming ops declare.
#include "generators/inputs.h"

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
