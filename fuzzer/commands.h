// Subcommands of the onnxfuzz binary; main() only dispatches here.
#pragma once

#include <string>
#include <vector>

namespace onnxfuzz {

// Runs `onnxfuzz <args...>` and returns its exit code (see fuzzer/exit_codes.h).
int run_command_line(const std::vector<std::string>& args);

}  // namespace onnxfuzz
