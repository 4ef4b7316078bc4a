// Rewrite mutators aimed at optimizer fusions: Gemm written as MatMul+Add and back, an identity
// Transpose->Transpose pair on an edge, and a subgraph from the optimizer-pattern table.
#include <fmt/format.h>

#include <numeric>

#include "generators/mutators/kinds.h"
#include "generators/mutators/rebuild.h"
#include "generators/patterns.h"

namespace onnxfuzz {

namespace {

using Emitted = std::expected<std::vector<int>, std::string>;

std::expected<int, std::string> first(Emitted e) {
  if (!e) return std::unexpected(e.error());
  return e->front();
}

std::expected<int, std::string> transpose2d(Rebuild& r, int v) {
  return first(r.emit_op("Transpose", {r.builder().data(v)}, {Attr::of_ints("perm", {1, 0})}));
}

std::expected<int, std::string> scaled(Rebuild& r, int v, float k) {
  if (k == 1.0f) return v;
  const DType d = r.builder().value(v).dtype;
  return first(r.emit_op("Mul", {r.builder().data(v), r.builder().const_scalar(d, k)}, {}));
}

// Gemm(A, B, C) = alpha * op(A) op(B) + beta * C, written out of MatMul, Transpose, Mul, Add.
std::expected<int, std::string> gemm_as_matmul(Rebuild& r, size_t k) {
  auto plan = r.plan_of(k);
  if (!plan) return std::unexpected(plan.error());
  const OpSpec& spec = r.spec(k);
  const NodeSig sig = plan->sig();
  int a = plan->operands[0].value, b = plan->operands[1].value;
  if (a < 0 || b < 0) return std::unexpected(std::string("Gemm operands are not values"));
  if (spec.attr_int(sig, "transA")) {
    auto t = transpose2d(r, a);
    if (!t) return t;
    a = *t;
  }
  if (spec.attr_int(sig, "transB")) {
    auto t = transpose2d(r, b);
    if (!t) return t;
    b = *t;
  }
  auto product = first(r.emit_op("MatMul", {r.builder().data(a), r.builder().data(b)}, {}));
  if (!product) return product;
  auto result = scaled(r, *product, spec.attr_float(sig, "alpha"));
  if (!result) return result;
  if (plan->operands.size() > 2 && plan->operands[2].value >= 0) {
    auto c = scaled(r, plan->operands[2].value, spec.attr_float(sig, "beta"));
    if (!c) return c;
    return first(r.emit_op("Add", {r.builder().data(*result), r.builder().data(*c)}, {}));
  }
  return result;
}

}  // namespace

MutationResult mutate_gemm_to_matmul(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  std::vector<size_t> gemms;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (r.spec(k).op_type == "Gemm") gemms.push_back(k);
  }
  if (gemms.empty()) return MutationResult::not_applicable("no Gemm");
  const size_t target = rng.pick(gemms);
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (k != target) {
      if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
      continue;
    }
    auto out = gemm_as_matmul(r, k);
    if (!out) return MutationResult::not_applicable(out.error());
    r.bind(r.node(k).output(0), *out);
  }
  m = r.finish();
  return MutationResult::applied(fmt::format("{} written as MatMul+Add", r.node(target).name()));
}

// MatMul of two matrices (followed by an Add that only it feeds, when there is one) -> Gemm.
MutationResult mutate_matmul_to_gemm(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  const OpSpec* gemm = find_op_spec("Gemm");
  std::vector<size_t> matmuls;
  for (size_t k = 0; k < r.node_count(); ++k) {
    const auto& node = r.node(k);
    if (r.spec(k).op_type != "MatMul" || !gemm) continue;
    auto a = r.original_type(node.input(0)), b = r.original_type(node.input(1));
    if (a && b && a->shape.size() == 2 && b->shape.size() == 2 && gemm->allows_dtype(a->dtype))
      matmuls.push_back(k);
  }
  if (matmuls.empty()) return MutationResult::not_applicable("no 2-D MatMul");
  const size_t target = rng.pick(matmuls);
  const std::string product = r.node(target).output(0);
  // The Add to fuse: the only reader of the product (which is no graph output).
  std::optional<size_t> add;
  int readers = 0;
  for (size_t k = 0; k < r.node_count(); ++k) {
    for (const auto& in : r.node(k).input()) {
      if (in != product) continue;
      ++readers;
      if (r.spec(k).op_type == "Add" && r.node(k).input(0) != r.node(k).input(1)) add = k;
    }
  }
  for (const auto& out : m.model.graph().output()) readers += out.name() == product ? 2 : 0;
  if (readers != 1) add.reset();
  std::string detail;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (k != target && (!add || k != *add)) {
      if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
      continue;
    }
    if (k == target && add) continue;  // emitted with its Add
    auto plan = r.plan_of(target);
    if (!plan) return MutationResult::not_applicable(plan.error());
    std::vector<Operand> operands = {plan->operands[0], plan->operands[1]};
    if (add) {
      const auto& node = r.node(*add);
      const std::string& bias = node.input(0) == product ? node.input(1) : node.input(0);
      auto c = r.value_of(bias);
      if (!c) return MutationResult::not_applicable("bias is gone");
      operands.push_back(r.builder().data(*c));
    }
    auto out = r.emit_op("Gemm", operands, {});
    if (!out) return MutationResult::not_applicable(out.error());
    r.bind(r.node(k).output(0), out->front());
    if (add) r.bind(product, out->front());
    detail = fmt::format("{}{} written as Gemm", r.node(target).name(), add ? "+Add" : "");
  }
  m = r.finish();
  return MutationResult::applied(detail);
}

MutationResult mutate_transpose_pair(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  std::vector<size_t> candidates;
  for (size_t k = 0; k < r.node_count(); ++k) {
    auto t = r.original_type(r.node(k).output(0));
    if (t && t->shape.size() >= 2) candidates.push_back(k);
  }
  if (candidates.empty()) return MutationResult::not_applicable("no edge of rank >= 2");
  const size_t target = rng.pick(candidates);
  std::string detail;
  for (size_t k = 0; k < r.node_count(); ++k) {
    if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
    if (k != target) continue;
    const std::string& edge = r.node(k).output(0);
    const int v = *r.value_of(edge);
    if (r.builder().value(v).shape.size() < 2)
      return MutationResult::not_applicable("the edge lost its rank on the way");
    std::vector<int64_t> perm(r.builder().value(v).shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    while (std::is_sorted(perm.begin(), perm.end())) rng.shuffle(perm);
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
    auto there = first(r.emit_op("Transpose", {r.builder().data(v)}, {Attr::of_ints("perm", perm)}));
    if (!there) return MutationResult::not_applicable(there.error());
    auto back = first(r.emit_op("Transpose", {r.builder().data(*there)}, {Attr::of_ints("perm", inverse)}));
    if (!back) return MutationResult::not_applicable(back.error());
    r.bind(edge, *back);
    detail = fmt::format("after {}: perm [{}] and back", r.node(k).name(), fmt::join(perm, ","));
  }
  m = r.finish();
  return MutationResult::applied(detail);
}

MutationResult mutate_insert_pattern(Mutant& m, Rng& rng, const MutateOptions& options) {
  auto rebuild = Rebuild::start(m, rng, options);
  if (!rebuild) return MutationResult::not_applicable(rebuild.error());
  Rebuild& r = **rebuild;
  const size_t after = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(r.node_count())));
  std::string key;
  auto any_op = [](const OpSpec&) { return true; };
  for (size_t k = 0; k <= r.node_count(); ++k) {
    if (k == after) {
      for (int attempt = 0; attempt < 8 && key.empty(); ++attempt)
        key = insert_pattern(r.builder(), rng.pick(all_patterns()), any_op,
                             options.policy.dtype_weights);
      if (key.empty()) return MutationResult::not_applicable("no pattern fits");
    }
    if (k < r.node_count()) {
      if (auto ok = r.replay(k); !ok) return MutationResult::not_applicable(ok.error());
    }
  }
  m = r.finish();
  return MutationResult::applied("pattern " + key);
}

}  // namespace onnxfuzz
