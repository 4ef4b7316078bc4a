// Invariant checks for onnxfuzz's own code: a broken invariant aborts loudly with file and line.
#pragma once

#include <cstdio>
#include <cstdlib>

// Tier 1 of the error model: our own bug. Never used for bad input or backend failures.
#define ONNXFUZZ_CHECK(cond, msg)                                                                  \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "onnxfuzz internal error at %s:%d: %s (%s)\n", __FILE__, __LINE__, msg, \
                   #cond);                                                                         \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
