// Small text helpers shared by the command line and the generator's own notations.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace onnxfuzz {

// The non-empty items of a comma-separated list ("a,,b" -> {"a", "b"}).
inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

}  // namespace onnxfuzz
