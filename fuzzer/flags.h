// Command-line flags: every flag of every subcommand is declared, with its help, in one table.
#pragma once

#include "oracles/execution.h"

#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onnxfuzz {

struct FlagSpec {
  std::string_view name;        // without the leading "--"
  std::string_view value_name;  // empty for boolean switches
  std::string_view default_value;
  std::string_view help;
};

struct ParsedFlags {
  std::map<std::string, std::string, std::less<>> values;  // explicit or default values
  std::vector<std::string> positional;
  bool help = false;

  bool has(std::string_view name) const { return values.count(name) > 0; }
  std::string get(std::string_view name) const;
  // Typed getters return an error value naming the flag when the text does not parse.
  std::expected<int64_t, std::string> get_int(std::string_view name) const;
  std::expected<double, std::string> get_double(std::string_view name) const;
  std::vector<std::string> get_list(std::string_view name) const;  // comma-separated
};

// Accepts "--name value", "--name=value" and boolean "--name" ("-x value" for a one-letter
// flag x); "-h"/"--help" set `help`.
std::expected<ParsedFlags, std::string> parse_flags(std::span<const FlagSpec> specs,
                                                    const std::vector<std::string>& args);

std::string format_flag_help(std::span<const FlagSpec> specs);

// The worker limits every command that runs executions takes: --timeout (seconds > 0) and
// --memory-limit-mb (MB > 0). The error names the flag.
std::expected<ExecutionOptions, std::string> worker_limits(const ParsedFlags& flags);

// "60s", "5m", "1h", "90" (seconds) -> seconds.
std::expected<double, std::string> parse_duration(std::string_view text);

}  // namespace onnxfuzz
