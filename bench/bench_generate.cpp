// Generation throughput: N models of 10 nodes on one thread (default policy: every op, dtype,
// edge values and patterns); optionally the validate_model pass
// rate.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "generators/generator.h"
#include "generators/model_io.h"

int main(int argc, char** argv) {
  long count = 20000;
  long validate = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      count = std::strtol(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--validate") == 0 && i + 1 < argc) {
      validate = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--count N] [--validate M]\n", argv[0]);
      return 2;
    }
  }
  onnxfuzz::GenPolicy policy;
  policy.min_nodes = policy.max_nodes = 10;
  auto generator = onnxfuzz::Generator::make(policy);
  if (!generator) {
    std::fprintf(stderr, "bench_generate: %s\n", generator.error().c_str());
    return 1;
  }
  long nodes = 0;
  size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long seed = 0; seed < count; ++seed) {
    const auto generated = generator->generate(static_cast<uint64_t>(seed));
    nodes += generated.model.graph().node_size();
    bytes += generated.model.ByteSizeLong();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "generate: %ld models in %.3f s = %.0f models/s, %.2f nodes/model, %.0f bytes/model\n", count,
      seconds, count / seconds, static_cast<double>(nodes) / count,
      static_cast<double>(bytes) / count);
  if (validate > 0) {
    long valid = 0;
    const auto vstart = std::chrono::steady_clock::now();
    for (long seed = 0; seed < validate; ++seed) {
      if (onnxfuzz::validate_model(generator->generate(static_cast<uint64_t>(seed)).model)) ++valid;
    }
    const double vseconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - vstart).count();
    std::printf("validate: %ld/%ld pass validate_model (%.1f%%), %.0f models/s generate+validate\n",
                valid, validate, 100.0 * valid / validate, validate / vseconds);
  }
  return 0;
}
