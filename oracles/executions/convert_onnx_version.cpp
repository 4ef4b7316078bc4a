// Execution family "convert:onnx-version@N[+AFTER]": libonnx's version converter under test.
// The model is converted to default-domain opset N (up or down, oracles/version_converter.h)
// and the converted model runs on AFTER (`--after`, default ref); judge_all compares the result
// with AFTER's on the original model (ExecutionFamily::paired_with), not with the common
// baseline, so that a difference is the converter's.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/common/version.h>
#include <onnx/defs/schema.h>

#include <charconv>
#include <chrono>

#include "generators/model_io.h"
#include "oracles/execution.h"
#include "oracles/refusals.h"
#include "oracles/version_converter.h"

namespace onnxfuzz {
namespace {

constexpr std::string_view kPrefix = "convert:onnx-version@";

struct ConvertName {
  int opset = 0;
  std::string after;  // empty: not spelled out (the options' --after)
};

std::pair<int, int> converter_opsets() {
  return onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map().at("");
}

// nullopt: not this family; error: this family, malformed.
std::optional<std::expected<ConvertName, std::string>> parse_convert_name(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t plus = rest.find('+');
  const std::string_view digits = rest.substr(0, plus);
  ConvertName parsed;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), parsed.opset);
  const auto [low, high] = converter_opsets();
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      parsed.opset < low || parsed.opset > high) {
    return std::unexpected(fmt::format(
        "'{}': expected convert:onnx-version@N[+EXECUTION] with an opset N in {}..{} (libonnx {})",
        name, low, high, onnx::LAST_RELEASE_VERSION));
  }
  if (plus != std::string_view::npos) {
    parsed.after = std::string(rest.substr(plus + 1));
    if (parsed.after.starts_with("convert:") || !is_execution_name(parsed.after)) {
      return std::unexpected(fmt::format(
          "'{}': '{}' after '+' is not an execution a converted model can run on; known "
          "executions: {}",
          name, parsed.after, fmt::join(known_execution_names(), ", ")));
    }
  }
  return parsed;
}

class ConvertExecution final : public Execution {
 public:
  ConvertExecution(std::string name, int opset, std::unique_ptr<Execution> after,
                   ExecutionOptions options)
      : name_(std::move(name)), opset_(opset), after_(std::move(after)), options_(options) {}

  const std::string& name() const override { return name_; }

  std::string version() override {
    return fmt::format("onnx version converter (libonnx {}) to opset {}, then {}",
                       onnx::LAST_RELEASE_VERSION, opset_, after_->version());
  }

  std::expected<void, std::string> check_ready() override { return after_->check_ready(); }
  CarriedDtypes carried_dtypes() override { return after_->carried_dtypes(); }

  RunResult run(const ModelUnderTest& model, const TensorMap& inputs) override {
    const auto started = std::chrono::steady_clock::now();
    RunResult result = convert_and_run(model, inputs);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  }

 private:
  RunResult convert_and_run(const ModelUnderTest& model, const TensorMap& inputs) {
    RunResult result;
    const ConversionResult conversion = convert_opset(
        model.bytes, opset_, {options_.timeout_seconds, options_.memory_limit_mb});
    switch (conversion.status) {
      case ConversionStatus::kOk:
        break;
      case ConversionStatus::kError:
        return failed(RunStatus::kError, "version converter: " + conversion.message);
      case ConversionStatus::kUnsupported:
        return failed(RunStatus::kUnsupported,
                      "version converter has no conversion: " + conversion.message);
      case ConversionStatus::kCrash:
        return failed(RunStatus::kCrash, conversion.message);
      case ConversionStatus::kTimeout:
        return failed(RunStatus::kTimeout, conversion.message);
      case ConversionStatus::kResourceLimit:
        return failed(RunStatus::kResourceLimit, conversion.message);
    }
    auto converted = parse_model(conversion.converted);
    if (!converted) {
      return failed(RunStatus::kError,
                    "version converter wrote an unreadable model: " + converted.error());
    }
    if (auto checked = check_model(*converted); !checked) {
      result = failed(RunStatus::kError,
                      "converted model fails the ONNX checker: " + checked.error());
    } else {
      result = after_->run(ModelUnderTest::from_proto(std::move(*converted)), inputs);
      // The AFTER execution's own refusals (an op version the reference has no kernel for,
      // its output cap) stay refusals on the converted model.
      classify_refusal(after_->name(), result);
      if (result.status != RunStatus::kOk) {
        result.message = fmt::format("{} on the model converted to opset {}: {}", after_->name(),
                                     opset_, result.message);
      }
    }
    result.artifacts.push_back({"converted.onnx", conversion.converted});
    return result;
  }

  static RunResult failed(RunStatus status, std::string message) {
    RunResult result;
    result.status = status;
    result.message = std::move(message);
    return result;
  }

  std::string name_;
  int opset_;
  std::unique_ptr<Execution> after_;
  ExecutionOptions options_;
};

std::string after_of(const ConvertName& parsed, const ExecutionOptions* options) {
  if (!parsed.after.empty()) return parsed.after;
  return options ? options->after : std::string("ref");
}

// "+AFTER" is spelled out unless it is ref, so that case.json names what to replay.
std::string canonical_name(int opset, const std::string& after) {
  return after == "ref" ? fmt::format("{}{}", kPrefix, opset)
                        : fmt::format("{}{}+{}", kPrefix, opset, after);
}

const ExecutionRegistrar kConvertOnnxVersion{{
    .usage = "convert:onnx-version@N[+EXECUTION]",
    .summary = "libonnx's version converter to opset N, the result run on --after (ref)",
    .parse = [](std::string_view name) -> std::optional<std::expected<void, std::string>> {
      auto parsed = parse_convert_name(name);
      if (!parsed) return std::nullopt;
      if (!*parsed) return std::unexpected(parsed->error());
      return std::expected<void, std::string>{};
    },
    .make = [](std::string_view name, const ExecutionOptions& options)
        -> std::expected<std::unique_ptr<Execution>, std::string> {
      auto parsed = parse_convert_name(name);
      if (!parsed || !*parsed) return std::unexpected(fmt::format("bad execution '{}'", name));
      const std::string after_name = after_of(**parsed, &options);
      auto after = make_execution(after_name, options);
      if (!after) return std::unexpected(after.error());
      return std::make_unique<ConvertExecution>(canonical_name((*parsed)->opset, after_name),
                                                (*parsed)->opset, std::move(*after), options);
    },
    .order = 50,
    .paired_with = [](std::string_view name) -> std::string {
      auto parsed = parse_convert_name(name);
      return parsed && *parsed ? after_of(**parsed, nullptr) : std::string();
    },
    .canonical = [](std::string_view name, const ExecutionOptions& options) -> std::string {
      auto parsed = parse_convert_name(name);
      if (!parsed || !*parsed) return std::string(name);
      return canonical_name((*parsed)->opset, after_of(**parsed, &options));
    },
}};

}  // namespace
}  // namespace onnxfuzz
