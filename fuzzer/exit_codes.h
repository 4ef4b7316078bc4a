// Exit codes of every onnxfuzz subcommand (documented in README.md and in --help).
#pragma once

#include <string>

namespace onnxfuzz {
// Prints "onnxfuzz: error: MESSAGE" on stderr and returns `code`: every command's error exit.
int fail(int code, const std::string& message);
}  // namespace onnxfuzz

namespace onnxfuzz::exit_code {
inline constexpr int kOk = 0;        // success; nothing failed (replay: all reproduce as recorded)
inline constexpr int kFindings = 1;  // run: an execution failed; fuzz: findings were recorded;
                                     // minimize: nothing to minimize
inline constexpr int kUsage = 2;     // bad flag or argument
inline constexpr int kBadInput = 3;  // missing/corrupt model or case, unsupported op
inline constexpr int kEnvironment = 4;    // unwritable output, missing node/ORT, worker won't start
inline constexpr int kReplayFixed = 5;    // replay: some cases no longer fail, none changed
inline constexpr int kReplayChanged = 6;  // replay: some cases fail differently (or ref changed)
// run: no verdict, and no execution ran the model (each rejected it, could not carry it or hit
// a resource limit): not a finding, and not a pass either.
inline constexpr int kNotRun = 7;
}  // namespace onnxfuzz::exit_code
