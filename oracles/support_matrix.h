// Support matrices: which (op, dtype) pairs, and which attribute values, an execution runs, as
// `onnxfuzz probe` measured them; committed as data under oracles/support/ and read at run time
// by the generator (`--target`) and by the rejection oracle (backend gaps).
#pragma once

#include <onnx/onnx_pb.h>

#include <expected>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "generators/dtype.h"

namespace onnxfuzz {

// How the probe's single-op models of one (op, dtype) pair fared.
struct SupportPair {
  std::string outcome;  // probe outcome: "runs", "partial", "not-implemented", "rejected", ...
  // Attribute values seen on probe models ("mode=nearest"), each with the models that ran and
  // that failed with it.
  std::map<std::string, std::pair<int, int>> attributes;
  // Some probe model had graph I/O of a dtype the execution cannot carry and ran wrapped in
  // Casts: the pair makes or takes values the execution cannot hand over.
  bool wrapped = false;
  // Some probe model ran: the generator may draw the pair.
  bool runs() const { return outcome == "runs" || outcome == "partial"; }
};

struct SupportMatrix {
  std::string execution;  // the probed execution, e.g. "opencv"
  std::string version;    // its version string, e.g. "opencv 4.6.0"
  std::vector<DType> carried;  // the dtypes it feeds and fetches
  std::map<std::string, std::map<DType, SupportPair>> pairs;  // op -> dtype -> result

  // Whether the probe ran some model of (op, dtype); unprobed pairs are not supported.
  bool supports(std::string_view op, DType dtype) const;
  // Whether a rejection of `node`, whose primary operand is `dtype`, is one the matrix
  // predicts: the pair never ran, or it ran only with other values of one of the node's
  // attributes (a value that only ever failed in the probe).
  bool predicts_rejection(const onnx::NodeProto& node, DType dtype) const;
};

// Parses the probe's JSON (fuzzer/probe.cpp writes it: execution, version, carried, pairs[]).
std::expected<SupportMatrix, std::string> parse_support_matrix(std::string_view json);
std::expected<SupportMatrix, std::string> load_support_matrix(const std::string& path);

// A committed matrix a generator can target and whose rejections are exempt.
struct SupportTarget {
  std::string_view name;       // `--target NAME`
  std::string_view execution;  // the execution whose rejections the matrix explains
  std::string_view file;       // relative to the project root
};
std::span<const SupportTarget> support_targets();

// The matrix for `--target NAME` (a name of support_targets()) or `--target FILE.json`.
std::expected<SupportMatrix, std::string> load_target_matrix(std::string_view target);

// The committed matrix for `execution`, loaded once; null when none is registered or it cannot
// be read (a warning is logged once). Never throws.
const SupportMatrix* committed_matrix(std::string_view execution);

// The attribute values of a node as the probe records them: "name=value" for int and string
// attributes, the discrete choices (modes, flags, axes); float values and lists vary per model
// and are left out.
std::vector<std::string> attribute_keys(const onnx::NodeProto& node);

}  // namespace onnxfuzz
