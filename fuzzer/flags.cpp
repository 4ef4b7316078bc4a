// Flag parsing and help rendering for the flag tables.
#include "fuzzer/flags.h"

#include <fmt/format.h>

#include <charconv>

#include "generators/text.h"

namespace onnxfuzz {

std::string ParsedFlags::get(std::string_view name) const {
  auto it = values.find(name);
  return it == values.end() ? std::string() : it->second;
}

std::expected<int64_t, std::string> ParsedFlags::get_int(std::string_view name) const {
  const std::string text = get(name);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::unexpected(fmt::format("--{}: expected an integer, got '{}'", name, text));
  }
  return value;
}

std::expected<double, std::string> ParsedFlags::get_double(std::string_view name) const {
  const std::string text = get(name);
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return value;
  } catch (const std::exception&) {
    return std::unexpected(fmt::format("--{}: expected a number, got '{}'", name, text));
  }
}

std::vector<std::string> ParsedFlags::get_list(std::string_view name) const {
  return split_list(get(name));
}

std::expected<ParsedFlags, std::string> parse_flags(std::span<const FlagSpec> specs,
                                                    const std::vector<std::string>& args) {
  ParsedFlags parsed;
  for (const auto& spec : specs) {
    if (!spec.value_name.empty() && !spec.default_value.empty()) {
      parsed.values.emplace(std::string(spec.name), std::string(spec.default_value));
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    // A one-letter flag also takes the short form: -n N is --n N.
    const FlagSpec* short_flag = nullptr;
    for (const auto& s : specs) {
      if (arg.size() == 2 && arg[0] == '-' && s.name.size() == 1 && s.name[0] == arg[1])
        short_flag = &s;
    }
    if (short_flag) {
      const std::string name(short_flag->name);
      if (short_flag->value_name.empty()) {
        parsed.values.insert_or_assign(name, "1");
      } else if (i + 1 >= args.size()) {
        return std::unexpected(fmt::format("-{} needs a value ({})", name, short_flag->value_name));
      } else {
        parsed.values.insert_or_assign(name, args[++i]);
      }
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      if (arg.size() > 1 && arg[0] == '-') {
        return std::unexpected(fmt::format("unknown option '{}'", arg));
      }
      parsed.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (!spec) return std::unexpected(fmt::format("unknown option '--{}'", name));
    if (spec->value_name.empty()) {
      if (inline_value) return std::unexpected(fmt::format("--{} takes no value", name));
      parsed.values.insert_or_assign(name, "1");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return std::unexpected(fmt::format("--{} needs a value ({})", name, spec->value_name));
      }
      inline_value = args[++i];
    }
    parsed.values.insert_or_assign(name, *inline_value);
  }
  return parsed;
}

std::string format_flag_help(std::span<const FlagSpec> specs) {
  std::string out;
  for (const auto& spec : specs) {
    std::string left = fmt::format("--{}", spec.name);
    if (!spec.value_name.empty()) left += fmt::format(" {}", spec.value_name);
    out += fmt::format("  {:<28} {}", left, spec.help);
    if (!spec.default_value.empty()) out += fmt::format(" (default: {})", spec.default_value);
    out += "\n";
  }
  return out;
}

std::expected<double, std::string> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected(std::string("empty duration"));
  double scale = 1;
  std::string_view number = text;
  switch (text.back()) {
    case 's':
      number.remove_suffix(1);
      break;
    case 'm':
      scale = 60;
      number.remove_suffix(1);
      break;
    case 'h':
      scale = 3600;
      number.remove_suffix(1);
      break;
    default:
      break;
  }
  try {
    size_t used = 0;
    const std::string n(number);
    const double value = std::stod(n, &used);
    if (used != n.size() || value < 0) throw std::invalid_argument(n);
    return value * scale;
  } catch (const std::exception&) {
    return std::unexpected(fmt::format("invalid duration '{}' (use e.g. 60s, 5m, 1h)", text));
  }
}

std::expected<ExecutionOptions, std::string> worker_limits(const ParsedFlags& flags) {
  ExecutionOptions options;
  auto timeout = flags.get_double("timeout");
  if (!timeout || *timeout <= 0) return std::unexpected(std::string("--timeout: expected seconds > 0"));
  options.timeout_seconds = *timeout;
  auto memory = flags.get_int("memory-limit-mb");
  if (!memory || *memory <= 0) return std::unexpected(std::string("--memory-limit-mb: expected MB > 0"));
  options.memory_limit_mb = *memory;
  return options;
}

}  // namespace onnxfuzz
