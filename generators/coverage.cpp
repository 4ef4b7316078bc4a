// Coverage of generated models.
#include "generators/coverage.h"

#include <unordered_map>

namespace onnxfuzz {

void Coverage::add(const GeneratedModel& model) {
  const auto& graph = model.model.graph();
  std::unordered_map<std::string, const std::string*> producer;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    ++ops[node.op_type()];
    if (static_cast<size_t>(n) < model.node_dtypes.size()) {
      ++op_dtypes[node.op_type() + ":" + std::string(dtype_name(model.node_dtypes[n]))];
    }
    for (const auto& in : node.input()) {
      if (auto it = producer.find(in); it != producer.end())
        ++op_pairs[*it->second + ">" + node.op_type()];
    }
    for (const auto& out : node.output()) producer[out] = &node.op_type();
  }
  for (const auto& key : model.patterns) ++patterns[key];
}

nlohmann::json Coverage::to_json() const {
  nlohmann::json j;
  j["ops"] = ops.size();
  j["op_dtypes"] = op_dtypes.size();
  j["op_pairs"] = op_pairs.size();
  j["patterns"] = patterns.size();
  j["counts"] = {{"ops", ops}, {"op_dtypes", op_dtypes}, {"op_pairs", op_pairs},
                 {"patterns", patterns}};
  return j;
}

}  // namespace onnxfuzz
