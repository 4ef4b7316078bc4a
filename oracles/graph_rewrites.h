// Which rewrites an optimizer applied, read off the graph before and after it.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace onnxfuzz {

struct GraphRewrites {
  // The optimizer passes named in the new nodes' names, in order of first appearance: ONNX
  // Runtime names a node it makes after its source node and the pass, e.g.
  // "n3/MatMulAddFusion/GemmTransposeFusion/" (MatMulAddFusion, then GemmTransposeFusion).
  // "ConstantFolding" first when a removed node's output became an initializer. Then every
  // node kept by name whose op changed ("n3: Conv -> com.microsoft.FusedConv") or whose
  // attributes or inputs changed in place ("n8: MaxPool attributes pads changed").
  std::vector<std::string> rewrites;
  // Nodes that went away or appeared: "removed Add 'n4'", "folded ReduceSum 'n2' into
  // initializer 'v2'", "added com.microsoft.Gelu 'g'".
  std::vector<std::string> node_changes;
};

GraphRewrites graph_rewrites(const onnx::GraphProto& before, const onnx::GraphProto& after);

}  // namespace onnxfuzz
