// Generator reach over N seeds of the default policy: ops, (op, dtype) pairs, producer->consumer
// op pairs and patterns reached; the share of models that pass the checker and strict inference,
// run on ref, and have finite ref outputs; with --ort, the share ONNX Runtime loads and runs.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "generators/coverage.h"
#include "generators/generator.h"
#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/reference.h"

int main(int argc, char** argv) {
  using namespace onnxfuzz;
  long count = 10000;
  bool ort = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      count = std::strtol(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--ort") == 0) {
      ort = true;
    } else {
      std::fprintf(stderr, "usage: %s [--count N] [--ort]\n", argv[0]);
      return 2;
    }
  }
  std::unique_ptr<Execution> backend;
  if (ort) {
    auto made = make_execution("ort-noopt", ExecutionOptions{});
    if (!made || !(*made)->check_ready()) {
      std::fprintf(stderr, "bench_coverage: ONNX Runtime is not available\n");
      return 4;
    }
    backend = std::move(*made);
  }
  const GenPolicy policy;
  Coverage coverage;
  long valid = 0, ref_ok = 0, finite = 0, ort_ok = 0, ort_unsupported = 0;
  std::map<std::string, long> ort_errors;
  for (long seed = 0; seed < count; ++seed) {
    auto g = generate_model(policy, static_cast<uint64_t>(seed));
    if (!g) {
      std::fprintf(stderr, "bench_coverage: %s\n", g.error().c_str());
      return 1;
    }
    coverage.add(*g);
    if (validate_model(g->model)) ++valid;
    RunResult r = run_reference(g->model, g->inputs);
    if (r.status == RunStatus::kOk) {
      ++ref_ok;
      bool all_finite = true;
      for (const auto& [name, t] : r.outputs) {
        for (int64_t i = 0; i < t.numel() && all_finite; ++i)
          all_finite = std::isfinite(t.as_double(i));
      }
      if (all_finite) ++finite;
    }
    if (backend) {
      bool carried = true;
      const CarriedDtypes dtypes = backend->carried_dtypes();
      for (const auto* list : {&g->model.graph().input(), &g->model.graph().output()}) {
        for (const auto& info : *list) {
          carried = carried && dtypes.carries(static_cast<DType>(info.type().tensor_type().elem_type()));
        }
      }
      if (!carried) {
        ++ort_unsupported;
        continue;
      }
      RunResult o = backend->run(ModelUnderTest::view(g->model), g->inputs);
      if (o.status == RunStatus::kOk) {
        ++ort_ok;
      } else {
        ++ort_errors[o.message.substr(0, 90)];
      }
    }
  }
  auto pct = [&](long n) { return 100.0 * static_cast<double>(n) / static_cast<double>(count); };
  std::printf("seeds %ld (default policy)\n", count);
  std::printf("reached: %zu ops, %zu (op, dtype) pairs, %zu op pairs, %zu pattern x perturbation\n",
              coverage.ops.size(), coverage.op_dtypes.size(), coverage.op_pairs.size(),
              coverage.patterns.size());
  std::printf("checker + strict inference: %ld (%.2f%%)\n", valid, pct(valid));
  std::printf("ref runs: %ld (%.2f%%), all outputs finite: %ld (%.2f%%)\n", ref_ok, pct(ref_ok),
              finite, pct(finite));
  if (backend) {
    std::printf("ort-noopt: not run (dtype it cannot carry, bfloat16 I/O) %ld (%.2f%%); "
                "loads and runs %ld (%.2f%% of all, %.2f%% of those run)\n",
                ort_unsupported, pct(ort_unsupported), ort_ok, pct(ort_ok),
                100.0 * static_cast<double>(ort_ok) / static_cast<double>(count - ort_unsupported));
    std::multimap<long, std::string, std::greater<>> top;
    for (const auto& [m, n] : ort_errors) top.emplace(n, m);
    int shown = 0;
    for (const auto& [n, m] : top) {
      if (shown++ == 12) break;
      std::printf("  %6ld  %s\n", n, m.c_str());
    }
  }
  return 0;
}
