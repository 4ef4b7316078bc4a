// libonnx's version converter in a forked child: limits, result pipe, crash capture.
#include "oracles/version_converter.h"

#include <fcntl.h>
#include <onnx/version_converter/convert.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>

#include <fmt/format.h>

#include "generators/model_io.h"
#include "oracles/worker_process.h"

namespace onnxfuzz {
namespace {

// The child's answer: one tag byte, then the converted model or the message.
constexpr char kTagConverted = 'C';
constexpr char kTagError = 'E';
constexpr char kTagOutOfMemory = 'M';

// Fragments of libonnx 1.12's converter assertions (onnx/version_converter/BaseConverter.h,
// convert.h and adapters/*.h) that say the conversion cannot be done, not that it went wrong.
constexpr std::string_view kUnsupportedFragments[] = {
    "No Adapter To Version",             // no adapter between these two versions of an op
    "No Adapter From Version",           //
    "No Adapter For",                    // no adapter at all for the op
    "No Previous Version of",            // the op does not exist at the target opset
    "invalid version (must be between",  // target opset outside the converter's range
    "can only convert",                  // a non-default domain
    "is of an unallowed type for Opset",  // the target version's op lacks the dtype
    "cannot include Indices output",     // MaxPool 8 -> 7
    "Unsupported output direction",      // Scan 9 -> 8
    "Unsupported input axes",            //
    "Unsupported output axes",           //
    "supports only 4D input",            // Upsample 6 -> 7
    "Unsuppported conversion",           // Upsample 9 -> 8 (sic)
    "No initializer or constant input",  // a computed input cannot become an attribute
    "must have value",                   // an attribute value the target version lacks
    "must not have value",               //
};

struct PlantedConverterFaults {
  std::string crash;
  std::string fail;
  std::string swap;
  std::string invalid;
};

PlantedConverterFaults planted_faults() {
  PlantedConverterFaults faults;
  const char* spec = std::getenv("ONNXFUZZ_PLANTED_CONVERT");
  std::string_view rest = spec != nullptr ? spec : "";
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string op(item.substr(eq + 1));
    if (item.substr(0, eq) == "crash") faults.crash = op;
    if (item.substr(0, eq) == "throw") faults.fail = op;
    if (item.substr(0, eq) == "swap") faults.swap = op;
    if (item.substr(0, eq) == "invalid") faults.invalid = op;
  }
  return faults;
}

bool has_op(const onnx::ModelProto& model, const std::string& op) {
  if (op.empty()) return false;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == op) return true;
  }
  return false;
}

// The child's work: returns the tagged answer. Runs after fork, in a single-threaded child.
std::string convert_in_child(const std::string& model_bytes, int target_opset) {
  try {
    auto model = parse_model(model_bytes);
    if (!model) return kTagError + model.error();
    const PlantedConverterFaults faults = planted_faults();
    if (has_op(*model, faults.crash)) {
      ::signal(SIGSEGV, SIG_DFL);
      ::raise(SIGSEGV);
    }
    if (has_op(*model, faults.fail)) {
      return kTagError + fmt::format("planted converter fault: {}", faults.fail);
    }
    onnx::ModelProto converted = onnx::version_conversion::ConvertVersion(*model, target_opset);
    for (auto& node : *converted.mutable_graph()->mutable_node()) {
      if (!faults.swap.empty() && node.op_type() == faults.swap && node.input_size() >= 2) {
        node.mutable_input()->SwapElements(0, 1);
      }
      if (!faults.invalid.empty() && node.op_type() == faults.invalid) {
        node.set_op_type(faults.invalid + "Planted");
      }
    }
    return kTagConverted + serialize_model(converted);
  } catch (const std::bad_alloc&) {
    return std::string(1, kTagOutOfMemory);
  } catch (const std::exception& e) {
    return kTagError + std::string(e.what());
  }
}

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Address space the process holds now, in bytes (the child inherits it).
int64_t address_space_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0;
  statm >> pages;
  return pages * ::sysconf(_SC_PAGESIZE);
}

}  // namespace

bool is_unsupported_conversion(std::string_view message) {
  for (std::string_view fragment : kUnsupportedFragments) {
    if (message.find(fragment) != std::string_view::npos) return true;
  }
  return false;
}

ConversionResult convert_opset(const std::string& model_bytes, int target_opset,
                               const ConversionLimits& limits) {
  ConversionResult result;
  // The schema registry is built before fork, once, rather than in every child.
  (void)onnx::OpSchemaRegistry::Schema("Add", 17, "");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.status = ConversionStatus::kError;
    result.message = fmt::format("version converter: pipe: {}", std::strerror(errno));
    return result;
  }
  const int64_t address_limit = address_space_bytes() + limits.memory_limit_mb * (1LL << 20);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    result.status = ConversionStatus::kError;
    result.message = fmt::format("version converter: fork: {}", std::strerror(errno));
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    struct rlimit no_core {};
    ::setrlimit(RLIMIT_CORE, &no_core);
    struct rlimit address {};
    address.rlim_cur = address.rlim_max = static_cast<rlim_t>(address_limit);
    ::setrlimit(RLIMIT_AS, &address);
    write_all(fds[1], convert_in_child(model_bytes, target_opset));
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(limits.timeout_seconds);
  std::string answer;
  bool timed_out = false;
  char buffer[65536];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p {fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is done (or dead)
    answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    result.status = ConversionStatus::kTimeout;
    result.message = fmt::format("version converter timed out after {:g} s", limits.timeout_seconds);
    return result;
  }
  if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0) ||
      answer.empty()) {
    result.status = ConversionStatus::kCrash;
    result.message = fmt::format(
        "version converter died: {}",
        WIFSIGNALED(status) ? signal_name(WTERMSIG(status))
                            : fmt::format("exit code {}", WEXITSTATUS(status)));
    return result;
  }
  const char tag = answer[0];
  answer.erase(0, 1);
  if (tag == kTagConverted) {
    result.converted = std::move(answer);
  } else if (tag == kTagOutOfMemory) {
    result.status = ConversionStatus::kResourceLimit;
    result.message = fmt::format("version converter: out of memory (limit {} MB)",
                                 limits.memory_limit_mb);
  } else {
    result.status =
        is_unsupported_conversion(answer) ? ConversionStatus::kUnsupported : ConversionStatus::kError;
    result.message = std::move(answer);
  }
  return result;
}

}  // namespace onnxfuzz
