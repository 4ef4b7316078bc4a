// Execution registry: status names, ModelUnderTest, and the registered execution families.
#include "oracles/execution.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "generators/model_io.h"

namespace onnxfuzz {
namespace {

std::vector<ExecutionFamily>& family_table() {
  static std::vector<ExecutionFamily> table;
  return table;
}

}  // namespace

std::string_view run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kOk:
      return "ok";
    case RunStatus::kError:
      return "error";
    case RunStatus::kCrash:
      return "crash";
    case RunStatus::kTimeout:
      return "timeout";
    case RunStatus::kUnsupported:
      return "unsupported";
    case RunStatus::kResourceLimit:
      return "resource-limit";
  }
  return "unknown";
}

bool CarriedDtypes::carries(DType dtype) const {
  return std::ranges::find(carried, dtype) != carried.end();
}

Execution::Ticket Execution::submit(const ModelUnderTest& model, const TensorMap& inputs) {
  const Ticket ticket = next_ticket_++;
  held_.emplace(ticket, run(model, inputs));
  return ticket;
}

RunResult Execution::collect(Ticket ticket) {
  auto it = held_.find(ticket);
  if (it == held_.end()) {
    throw std::invalid_argument(fmt::format("{}: run ticket {} is not outstanding", name(), ticket));
  }
  RunResult result = std::move(it->second);
  held_.erase(it);
  return result;
}

CarriedDtypes all_dtypes_carried() {
  CarriedDtypes all;
  for (const DTypeInfo& row : all_dtypes()) all.carried.push_back(row.dtype);
  return all;
}

ModelUnderTest ModelUnderTest::from_proto(onnx::ModelProto proto) {
  ModelUnderTest model;
  model.bytes = serialize_model(proto);
  model.proto_ = std::make_shared<const onnx::ModelProto>(std::move(proto));
  return model;
}

ModelUnderTest ModelUnderTest::view(const onnx::ModelProto& proto) {
  ModelUnderTest model;
  model.bytes = serialize_model(proto);
  // Aliasing constructor with no owner: a plain pointer with shared_ptr's interface.
  model.proto_ = std::shared_ptr<const onnx::ModelProto>(std::shared_ptr<void>(), &proto);
  return model;
}

const onnx::ModelProto& ModelUnderTest::proto() const {
  static const onnx::ModelProto kEmpty;
  return proto_ ? *proto_ : kEmpty;
}

std::function<std::optional<std::expected<void, std::string>>(std::string_view)> exact_name(
    std::string fixed) {
  return [fixed = std::move(fixed)](
             std::string_view name) -> std::optional<std::expected<void, std::string>> {
    if (name != fixed) return std::nullopt;
    return std::expected<void, std::string>{};
  };
}

ExecutionRegistrar::ExecutionRegistrar(ExecutionFamily family) {
  family_table().push_back(std::move(family));
}

std::vector<const ExecutionFamily*> execution_families() {
  std::vector<const ExecutionFamily*> families;
  for (const ExecutionFamily& family : family_table()) families.push_back(&family);
  std::ranges::sort(families, [](const ExecutionFamily* a, const ExecutionFamily* b) {
    return std::tie(a->order, a->usage) < std::tie(b->order, b->usage);
  });
  return families;
}

std::vector<std::string> known_execution_names() {
  std::vector<std::string> names;
  for (const ExecutionFamily* family : execution_families()) names.push_back(family->usage);
  return names;
}

bool is_execution_name(std::string_view name) {
  for (const ExecutionFamily* family : execution_families()) {
    if (auto parsed = family->parse(name)) return parsed->has_value();
  }
  return false;
}

const ExecutionFamily* execution_family_of(std::string_view name) {
  for (const ExecutionFamily* family : execution_families()) {
    if (family->parse(name)) return family;
  }
  return nullptr;
}

std::string paired_execution(std::string_view name) {
  const ExecutionFamily* family = execution_family_of(name);
  return family && family->paired_with ? family->paired_with(name) : std::string();
}

std::string canonical_execution_name(std::string_view name, const ExecutionOptions& options) {
  const ExecutionFamily* family = execution_family_of(name);
  return family && family->canonical ? family->canonical(name, options) : std::string(name);
}

std::expected<std::unique_ptr<Execution>, std::string> make_execution(
    std::string_view name, const ExecutionOptions& options) {
  for (const ExecutionFamily* family : execution_families()) {
    auto parsed = family->parse(name);
    if (!parsed) continue;
    if (!*parsed) return std::unexpected(parsed->error());
    return family->make(name, options);
  }
  return std::unexpected(fmt::format("unknown execution '{}'; known executions: {}", name,
                                     fmt::join(known_execution_names(), ", ")));
}

}  // namespace onnxfuzz
