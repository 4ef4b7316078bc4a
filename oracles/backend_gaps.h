// Backend gaps: (op, dtype) pairs a backend documents as unimplemented; rejections there are
// expected, not findings.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "generators/dtype.h"

namespace onnxfuzz {

// One row: on executions whose name starts with `execution_prefix` ("ort" covers ort and
// ort-noopt), a node of `op` whose first input or an output is `dtype` has no kernel, and the
// backend says so naming `reported_op`: usually `op` itself, but ORT expands a function op it has
// no kernel for (Clip, Softmax) into primitives and names the primitive that lacks one. To add a
// row, append it to kBackendGaps in backend_gaps.cpp (`onnxfuzz probe` prints
// rows in that form) after checking by hand that the backend refuses a single-node model of
// that pair.
struct BackendGap {
  std::string_view execution_prefix;
  std::string_view op;
  DType dtype;
  std::string_view reported_op;
  std::string_view reason;  // where it was seen: backend version, how it was checked
};

std::span<const BackendGap> backend_gaps();

// The (op, dtype) pairs some of `executions` is documented not to run: the rows of
// backend_gaps() for it, and the pairs its committed support matrix (oracles/support_matrix.h)
// probed and never saw run. A campaign does not draw them (GenPolicy::avoid_pairs): a model
// holding one is refused there and tests nothing on that execution.
std::map<std::string, std::set<DType>> documented_gaps(std::span<const std::string> executions);

// ONNX Runtime's message for a node whose type combination has no registered kernel:
// "Could not find an implementation for Op(version) node with name '...'".
// OpenCV DNN's importer says it for any node it cannot take: "Node [Op@domain]:(name) parse
// error: ...".
bool is_not_implemented_message(std::string_view message);
// The op such a message names, or "".
std::string_view not_implemented_op(std::string_view message);

// The listed gap that explains `message` from `execution` on `model`, or null: the message is
// a not-implemented message naming the row's `reported_op`, and a node of the row's `op` has
// its first input or an output of the row's dtype. For an execution with a committed support
// matrix (oracles/support_matrix.h), a node of the named op whose (op, input dtype) the matrix
// says does not run, or runs only with other attribute values, is a gap too. So is ONNX
// Runtime's own statement that a kernel of a default-domain op of the model is implemented only
// for other types ("Failed to find kernel for Pow(15) ... However the types are incompatible.
// This op has been implemented only for the following types (...)"). Never throws.
const BackendGap* find_backend_gap(std::string_view execution, const onnx::ModelProto& model,
                                   std::string_view message);

}  // namespace onnxfuzz
