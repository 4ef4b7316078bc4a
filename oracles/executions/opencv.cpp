// Execution family "opencv": OpenCV DNN's ONNX importer and CPU backend (Debian's
// libopencv-dnn-dev) in a C++ worker (oracles/opencv_worker/), built when CMake finds OpenCV.
#include <fmt/format.h>

#include "oracles/execution.h"
#include "oracles/worker_execution.h"
#include "oracles/worker_paths.h"

namespace onnxfuzz {
namespace {

std::expected<std::unique_ptr<Execution>, std::string> make_opencv(
    [[maybe_unused]] std::string_view name, [[maybe_unused]] const ExecutionOptions& options) {
#ifdef ONNXFUZZ_HAVE_OPENCV
  auto path = find_opencv_worker();
  if (!path) return std::unexpected(fmt::format("execution 'opencv': {}", path.error()));
  // The worker runs each model in a child the parent's memory sampling does not see; it caps
  // the child's address space at the same limit.
  WorkerCommand command{{*path}, {fmt::format("ONNXFUZZ_WORKER_MEMORY_MB={}", options.memory_limit_mb)}};
  return std::make_unique<WorkerExecution>("opencv", std::move(command), options);
#else
  return std::unexpected(std::string(
      "execution 'opencv': onnxfuzz was built without OpenCV; install libopencv-dnn-dev and "
      "rebuild (scripts/setup.sh does both)"));
#endif
}

const ExecutionRegistrar kOpencv{{
    .usage = "opencv",
    .summary = "OpenCV DNN 4.x (libopencv-dnn-dev): its ONNX importer and CPU backend, float32",
    .parse = exact_name("opencv"),
    .make = make_opencv,
    .order = 30,
}};

}  // namespace
}  // namespace onnxfuzz
