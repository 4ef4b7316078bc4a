// onnxfuzz command-line entry point: a thin wrapper over the core library.
#include "fuzzer/commands.h"

int main(int argc, char** argv) {
  return onnxfuzz::run_command_line(std::vector<std::string>(argv + 1, argv + argc));
}
