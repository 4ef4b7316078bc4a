// The kernel registry and the attribute accessors kernels read their node through.
#include "oracles/reference/kernel.h"

#include <iterator>
#include <map>

#include "generators/check.h"

namespace onnxfuzz::ref {

const Tensor& NodeContext::input(size_t i) const {
  const Tensor* t = optional_input(i);
  if (t == nullptr) fail("required input {} is missing", i);
  return *t;
}

const onnx::AttributeProto* NodeContext::attribute(std::string_view name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t NodeContext::int_attr(std::string_view name, int64_t fallback) const {
  const auto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::INT) fail("attribute '{}' is not an int", name);
  return a->i();
}

float NodeContext::float_attr(std::string_view name, float fallback) const {
  const auto* a = attribute(name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT) fail("attribute '{}' is not a float", name);
  return a->f();
}

std::string NodeContext::string_attr(std::string_view name, std::string_view fallback) const {
  const auto* a = attribute(name);
  if (a == nullptr) return std::string(fallback);
  if (a->type() != onnx::AttributeProto::STRING) fail("attribute '{}' is not a string", name);
  return a->s();
}

std::vector<int64_t> NodeContext::ints_attr(std::string_view name) const {
  const auto* a = attribute(name);
  if (a == nullptr) return {};
  if (a->type() != onnx::AttributeProto::INTS) fail("attribute '{}' is not a list of ints", name);
  return {a->ints().begin(), a->ints().end()};
}

namespace {

// The registry's spelling of a domain: ONNX's own ops under "", whichever way a model names it.
std::string_view canonical_domain(std::string_view domain) {
  return domain == "ai.onnx" ? std::string_view() : domain;
}

// (domain, op type) -> since_version -> kernel. Built on first use, so registrars in any
// translation unit may run in any order during static initialization.
using OpKey = std::pair<std::string, std::string>;
using Registry = std::map<OpKey, std::map<int, Kernel>, std::less<>>;

Registry& registry() {
  static Registry table;
  return table;
}

const std::map<int, Kernel>* versions_of(std::string_view domain, std::string_view op_type) {
  const Registry& table = registry();
  auto op = table.find(OpKey(canonical_domain(domain), op_type));
  return op == table.end() ? nullptr : &op->second;
}

}  // namespace

KernelRegistrar::KernelRegistrar(std::string_view op_type, int since_version, KernelFn run,
                                 KernelOptions options)
    : KernelRegistrar("", op_type, since_version, run, options) {}

KernelRegistrar::KernelRegistrar(std::string_view domain, std::string_view op_type,
                                 int since_version, KernelFn run, KernelOptions options) {
  ONNXFUZZ_CHECK(run != nullptr && since_version >= 1, "KernelRegistrar: bad registration");
  const std::string_view d = canonical_domain(domain);
  auto& versions = registry()[OpKey(d, op_type)];
  const bool inserted = versions
                            .emplace(since_version, Kernel{std::string(d), std::string(op_type),
                                                           since_version, run, options})
                            .second;
  ONNXFUZZ_CHECK(inserted, "KernelRegistrar: (domain, op, since_version) registered twice");
}

std::vector<const Kernel*> registered_kernels() {
  std::vector<const Kernel*> all;
  for (const auto& [op, versions] : registry()) {
    for (const auto& [since, kernel] : versions) all.push_back(&kernel);
  }
  return all;
}

const Kernel* find_kernel(std::string_view domain, std::string_view op_type, int version) {
  const auto* versions = versions_of(domain, op_type);
  if (versions == nullptr) return nullptr;
  auto after = versions->upper_bound(version);  // first version > `version`
  if (after == versions->begin()) return nullptr;
  return &std::prev(after)->second;
}

const Kernel* find_kernel(std::string_view op_type, int schema_version) {
  return find_kernel("", op_type, schema_version);
}

bool has_kernels(std::string_view domain, std::string_view op_type) {
  return versions_of(domain, op_type) != nullptr;
}

bool has_kernels(std::string_view op_type) { return has_kernels("", op_type); }

}  // namespace onnxfuzz::ref
