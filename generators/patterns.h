// Optimizer patterns: a table (data) of the subgraphs that runtime optimizers rewrite, inserted
// whole as macro-ops and perturbed where a fusion may forget to check.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "generators/graph_builder.h"

namespace onnxfuzz {

// A constant a pattern feeds to its nodes. `shape` is a comma-separated list of dims: numbers,
// or the symbols L (X's last dim), C (X's dim 1), N and M (drawn per instance in 1..max_dim),
// K (a kernel size, 1 or 3), S (X's spatial rank many 1s, for per-channel constants), and
// "$shape" in `ints` means X's shape. A float constant with lo == hi holds exactly that value.
struct PatternConst {
  std::string_view name;
  std::string_view shape;  // "" is a scalar
  double lo = 0, hi = 0;
  std::string_view ints = {};  // non-empty: an int64 constant, "[0, 1]" or "$shape"
};

struct Pattern {
  std::string_view name;
  int min_rank = 1, max_rank = 4;  // ranks of X the pattern is written for
  // The nodes in ONNX text syntax; X is the pattern's input, the last node's output its result.
  std::string_view nodes;
  std::vector<PatternConst> consts;
  // The optimizer rewrite the pattern targets, for the reader.
  std::string_view targets;
};

// How an inserted pattern was perturbed; coverage counts pattern x perturbation.
enum class Perturbation { kNone, kAttribute, kConstShape, kConstDtype, kOperandOrder, kDtype };
std::string_view perturbation_name(Perturbation p);

// The table, in a fixed order.
const std::vector<Pattern>& all_patterns();

// The op types of a pattern's nodes, in order.
std::vector<std::string> pattern_ops(const Pattern& pattern);

// Inserts one instance of `pattern` into the builder, wired to an existing value or a fresh
// input, perturbed at the policy's rate. `op_allowed` filters ops the policy excludes;
// `dtype_weights` are the dtypes it may take (those in which the policy allows each of its ops,
// Generator::make). Returns
// the coverage key ("LayerNorm/attribute"), or "" when the pattern does not fit here (nothing
// was emitted then).
std::string insert_pattern(GraphBuilder& g, const Pattern& pattern,
                           const std::function<bool(const OpSpec&)>& op_allowed,
                           const std::map<DType, double>& dtype_weights);

}  // namespace onnxfuzz
