// The `opencv` execution's worker: OpenCV DNN's ONNX importer and CPU backend behind the framed
// worker protocol (oracles/worker_protocol.h).
//
// A cv::Exception (or any C++ exception) while loading or running a model is a clean error
// response. Signals are not caught: a crash inside OpenCV kills this process, and the parent
// reports it as a crash finding, as it does for the ORT worker.
#include <onnx/onnx_pb.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <set>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "generators/model_io.h"
#include "oracles/worker_protocol.h"

namespace onnxfuzz {
namespace {

WorkerResponse error_response(std::string message) {
  WorkerResponse response;
  response.status = kResponseError;
  response.text = std::move(message);
  return response;
}

// OpenCV DNN 4.6 computes in float32 on the CPU: it takes its input blobs as float32 Mats and
// hands back float32 Mats. Every other element type would have to be converted on the way in
// or out, which would test the conversion, not OpenCV; the parent does not run such models.
CarriedDtypes opencv_carried_dtypes() {
  CarriedDtypes dtypes;
  for (const DTypeInfo& info : all_dtypes()) {
    if (info.dtype == DType::kFloat) {
      dtypes.carried.push_back(info.dtype);
    } else {
      dtypes.not_carried.push_back(
          {info.dtype, "OpenCV DNN 4.6 feeds and fetches float32 blobs only (its CPU backend "
                       "computes in float32)"});
    }
  }
  return dtypes;
}

// A tensor as a float32 Mat sharing no memory with it. OpenCV has no rank-0 or rank-1 Mat
// with one dim: a scalar becomes [1] and [n] stays a one-dim Mat, as the ONNX importer expects.
cv::Mat to_mat(const Tensor& tensor) {
  std::vector<int> sizes;
  for (int64_t dim : tensor.shape) sizes.push_back(static_cast<int>(dim));
  if (sizes.empty()) sizes.push_back(1);
  cv::Mat mat(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
  if (!tensor.bytes.empty()) std::memcpy(mat.data, tensor.bytes.data(), tensor.bytes.size());
  return mat;
}

// A Mat as a float32 tensor. OpenCV's Mats have at least two dims, so a declared rank-0 or
// rank-1 output comes back as [1, n] or [n, 1]; when the element count matches the declared
// shape, the declared shape is used: that is OpenCV's representation, not a shape bug. Every
// other shape is reported as OpenCV produced it.
Tensor from_mat(const cv::Mat& produced, const std::vector<int64_t>* declared) {
  cv::Mat mat;
  if (produced.depth() == CV_32F && produced.isContinuous()) {
    mat = produced;
  } else {
    produced.convertTo(mat, CV_32F);
    if (!mat.isContinuous()) mat = mat.clone();
  }
  Shape shape;
  for (int i = 0; i < mat.dims; ++i) shape.push_back(mat.size[i]);
  if (declared != nullptr && declared->size() < 2 &&
      shape_numel(*declared) == static_cast<int64_t>(mat.total())) {
    shape = *declared;
  }
  Tensor tensor = Tensor::zeros(DType::kFloat, shape);
  if (!tensor.bytes.empty()) std::memcpy(tensor.bytes.data(), mat.data, tensor.bytes.size());
  return tensor;
}

// OpenCV's messages nest: the importer's "onnx_importer.cpp:1040: error: ... 'handleNode'"
// first, then "> Node [Op@domain]:(name) parse error: <the layer's own error>" on later lines.
// The oracle keys a rejection on its first line, so the specific part goes first, on one line.
std::string one_line(std::string_view what) {
  std::vector<std::string> lines;
  while (!what.empty()) {
    const size_t end = what.find('\n');
    std::string_view line = what.substr(0, end);
    what = end == std::string_view::npos ? std::string_view() : what.substr(end + 1);
    while (line.starts_with(">") || line.starts_with(" ")) line.remove_prefix(1);
    if (!line.empty()) lines.emplace_back(line);
  }
  if (lines.empty()) return "(no message)";
  std::string out;
  for (size_t i = 1; i < lines.size(); ++i) out += (out.empty() ? "" : " ") + lines[i];
  return out.empty() ? lines[0] : out + " | " + lines[0];
}

// The declared static shape of a graph value, if every dim is known.
std::optional<Shape> declared_shape(const onnx::ValueInfoProto& info) {
  if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return std::nullopt;
  Shape shape;
  for (const auto& dim : info.type().tensor_type().shape().dim()) {
    if (!dim.has_dim_value()) return std::nullopt;
    shape.push_back(dim.dim_value());
  }
  return shape;
}

// Where a graph output comes from: output `index` of the node whose first output names the
// OpenCV layer (the importer names each layer after its node's first output).
struct OutputSource {
  std::string layer;
  size_t index = 0;
};

WorkerResponse run_model(const WorkerRequest& request) {
  auto model = parse_model(request.model_bytes);
  if (!model) return error_response(model.error());
  const onnx::GraphProto& graph = model->graph();

  std::map<std::string, OutputSource> sources;
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.output_size() == 0) continue;
    for (int i = 0; i < node.output_size(); ++i) {
      sources[node.output(i)] = {node.output(0), static_cast<size_t>(i)};
    }
  }
  std::map<std::string, const Tensor*> fed;
  for (const NamedTensor& input : request.inputs) fed[input.name] = &input.value;

  // The layers to fetch, each once; a graph output that is a graph input is answered directly.
  std::vector<std::string> layers;
  std::set<std::string> wanted;
  for (const onnx::ValueInfoProto& output : graph.output()) {
    auto source = sources.find(output.name());
    if (source == sources.end()) continue;
    if (wanted.insert(source->second.layer).second) layers.push_back(source->second.layer);
  }

  std::vector<std::vector<cv::Mat>> produced;
  try {
    const std::vector<uchar> buffer(request.model_bytes.begin(), request.model_bytes.end());
    cv::dnn::Net net = cv::dnn::readNetFromONNX(buffer);
    if (net.empty()) return error_response("OpenCV: readNetFromONNX returned an empty network");
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    for (const NamedTensor& input : request.inputs) {
      if (input.value.dtype != DType::kFloat) {
        return error_response("opencv worker: input '" + input.name + "' is " +
                              std::string(dtype_name(input.value.dtype)) +
                              ", which this worker does not carry");
      }
      net.setInput(to_mat(input.value), input.name);
    }
    if (!layers.empty()) net.forward(produced, layers);
  } catch (const cv::Exception& error) {
    return error_response("OpenCV: " + one_line(error.what()));
  } catch (const std::exception& error) {
    return error_response("OpenCV (" + std::string(typeid(error).name()) +
                          "): " + one_line(error.what()));
  }

  WorkerResponse response;
  for (const onnx::ValueInfoProto& output : graph.output()) {
    const std::optional<Shape> declared = declared_shape(output);
    auto source = sources.find(output.name());
    if (source == sources.end()) {
      auto input = fed.find(output.name());
      if (input == fed.end()) {
        return error_response("opencv worker: graph output '" + output.name() +
                              "' is neither a node output nor a fed input");
      }
      response.outputs.push_back({output.name(), *input->second});
      continue;
    }
    const size_t layer = static_cast<size_t>(
        std::find(layers.begin(), layers.end(), source->second.layer) - layers.begin());
    if (layer >= produced.size() || source->second.index >= produced[layer].size()) {
      return error_response("OpenCV: layer '" + source->second.layer + "' produced no output " +
                            std::to_string(source->second.index) + " for graph output '" +
                            output.name() + "'");
    }
    response.outputs.push_back(
        {output.name(), from_mat(produced[layer][source->second.index],
                                 declared ? &*declared : nullptr)});
  }
  return response;
}

// Runs one model in a forked child that writes the response itself, so that a model which
// corrupts the heap without crashing cannot crash a later model (in a long-lived worker the
// crash would land on an innocent model and fool the minimizer). A child killed by a signal
// kills this worker with the same signal: the parent sees the crash on the model that caused
// it. The child's address space is capped at the parent's memory limit (passed as
// ONNXFUZZ_WORKER_MEMORY_MB), since the parent samples only this process's memory: an
// allocation over it fails in OpenCV as "Failed to allocate", a refusal (oracles/refusals.cpp).
bool run_isolated(const WorkerRequest& request) {
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) {
    return write_frame(STDOUT_FILENO,
                       encode_response(error_response("opencv worker: fork failed")));
  }
  if (child == 0) {
    if (const char* limit = std::getenv("ONNXFUZZ_WORKER_MEMORY_MB")) {
      const rlim_t bytes = static_cast<rlim_t>(std::strtoll(limit, nullptr, 10)) << 20;
      if (bytes > 0) {
        const rlimit cap{bytes, bytes};
        ::setrlimit(RLIMIT_AS, &cap);
      }
    }
    const bool written = write_frame(STDOUT_FILENO, encode_response(run_model(request)));
    std::_Exit(written ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::signal(sig, SIG_DFL);
    ::raise(sig);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int serve() {
  while (true) {
    auto frame = read_frame(STDIN_FILENO);
    if (!frame) return 0;  // the parent closed our stdin: done
    auto request = decode_request(*frame);
    if (request && request->kind == kRequestRun) {
      if (!run_isolated(*request)) return 1;
      continue;
    }
    WorkerResponse response;
    if (!request) {
      response = error_response("bad request: " + request.error());
    } else if (request->kind == kRequestVersion) {
      response.text = "opencv " + std::string(CV_VERSION);
    } else if (request->kind == kRequestDtypes) {
      response.text = encode_carried_dtypes(opencv_carried_dtypes());
    } else {
      response = error_response("opencv worker: unknown request kind " +
                                std::to_string(request->kind));
    }
    if (!write_frame(STDOUT_FILENO, encode_response(response))) return 1;
  }
}

}  // namespace
}  // namespace onnxfuzz

int main() {
  // Warnings would fill the parent's captured stderr; errors arrive as exceptions anyway.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  // One thread: runs are reproducible and the fuzzer's own parallelism is per process.
  cv::setNumThreads(1);
  return onnxfuzz::serve();
}
