// Coverage of generated models.
#include "generators/coverage.h"

#include <fmt/format.h>

#include <set>
#include <unordered_map>

namespace onnxfuzz {

namespace {

int64_t bump(std::map<std::string, int64_t>& counts, const std::string& key) {
  return ++counts[key] == 1 ? 1 : 0;
}

// Counts ops, (op, dtype) pairs and producer->consumer pairs of `graph`; `dtype_of(n)` is node
// n's dtype name, or empty when unknown.
template <typename DtypeOf>
int64_t add_graph(Coverage& coverage, const onnx::GraphProto& graph, DtypeOf dtype_of) {
  int64_t fresh = 0;
  std::unordered_map<std::string, const std::string*> producer;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    fresh += bump(coverage.ops, node.op_type());
    if (const std::string dtype = dtype_of(n); !dtype.empty()) {
      fresh += bump(coverage.op_dtypes, node.op_type() + ":" + dtype);
    }
    for (const auto& attr : node.attribute()) {
      switch (attr.type()) {
        case onnx::AttributeProto::INT:
          fresh += bump(coverage.attr_values, Coverage::attr_key(node.op_type(), attr.name(), attr.i()));
          break;
        case onnx::AttributeProto::FLOAT:
          fresh += bump(coverage.attr_values, Coverage::attr_key(node.op_type(), attr.name(), attr.f()));
          break;
        case onnx::AttributeProto::STRING:
          fresh += bump(coverage.attr_values, Coverage::attr_key(node.op_type(), attr.name(), attr.s()));
          break;
        case onnx::AttributeProto::INTS: {
          const std::set<int64_t> distinct(attr.ints().begin(), attr.ints().end());
          for (int64_t v : distinct)
            fresh += bump(coverage.attr_values, Coverage::attr_key(node.op_type(), attr.name(), v));
          break;
        }
        default:
          break;
      }
    }
    for (const auto& in : node.input()) {
      if (auto it = producer.find(in); it != producer.end())
        fresh += bump(coverage.op_pairs, *it->second + ">" + node.op_type());
    }
    for (const auto& out : node.output()) producer[out] = &node.op_type();
  }
  return fresh;
}

}  // namespace

int64_t Coverage::add(const GeneratedModel& model) {
  int64_t fresh = add_graph(*this, model.model.graph(), [&](int n) {
    return static_cast<size_t>(n) < model.node_dtypes.size()
               ? std::string(dtype_name(model.node_dtypes[n]))
               : std::string();
  });
  for (const auto& key : model.patterns) fresh += bump(patterns, key);
  return fresh;
}

int64_t Coverage::add(const onnx::ModelProto& model) {
  const auto& graph = model.graph();
  std::unordered_map<std::string, int32_t> elem_types;
  auto note = [&](const onnx::ValueInfoProto& v) {
    if (v.type().has_tensor_type()) elem_types[v.name()] = v.type().tensor_type().elem_type();
  };
  for (const auto& v : graph.input()) note(v);
  for (const auto& v : graph.value_info()) note(v);
  for (const auto& v : graph.output()) note(v);
  for (const auto& t : graph.initializer()) elem_types[t.name()] = t.data_type();
  return add_graph(*this, graph, [&](int n) {
    const auto& node = graph.node(n);
    if (node.input_size() == 0) return std::string();
    auto it = elem_types.find(node.input(0));
    if (it == elem_types.end() || !dtype_supported(it->second)) return std::string();
    return std::string(dtype_name(static_cast<DType>(it->second)));
  });
}

nlohmann::json Coverage::to_json() const {
  nlohmann::json j;
  j["ops"] = ops.size();
  j["op_dtypes"] = op_dtypes.size();
  j["op_pairs"] = op_pairs.size();
  j["attr_values"] = attr_values.size();
  j["patterns"] = patterns.size();
  j["counts"] = {{"ops", ops},
                 {"op_dtypes", op_dtypes},
                 {"op_pairs", op_pairs},
                 {"attr_values", attr_values},
                 {"patterns", patterns}};
  return j;
}

std::string Coverage::attr_key(const std::string& op, const std::string& name, int64_t value) {
  return fmt::format("{}.{}={}", op, name, value);
}

std::string Coverage::attr_key(const std::string& op, const std::string& name, float value) {
  return fmt::format("{}.{}={}", op, name, value);
}

std::string Coverage::attr_key(const std::string& op, const std::string& name,
                               const std::string& value) {
  return fmt::format("{}.{}={}", op, name, value);
}

}  // namespace onnxfuzz
