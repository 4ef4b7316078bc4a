// Case store: atomic writes of case directories, reading test cases, case.json schema.
#include "corpus/case_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "corpus/report.h"
#include "generators/model_io.h"

namespace onnxfuzz {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::expected<void, std::string> write_file_synced(const fs::path& path, const std::string& bytes,
                                                   bool sync = true) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return std::unexpected(fmt::format("cannot create {}: {}", path.string(), strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = strerror(errno);
      ::close(fd);
      return std::unexpected(fmt::format("cannot write {}: {}", path.string(), why));
    }
    done += static_cast<size_t>(n);
  }
  if (sync) ::fsync(fd);
  ::close(fd);
  return {};
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

json record_to_json(const CaseRecord& r) {
  json j;
  j["id"] = r.id;
  j["kind"] = std::string(verdict_kind_name(r.kind));
  j["execution"] = r.execution;
  j["executions"] = r.executions;
  j["ops"] = r.ops;
  j["message"] = r.message;
  j["signature"] = r.signature;
  j["evidence"] = r.evidence;
  j["seed"] = r.seed ? json(*r.seed) : json(nullptr);
  j["regenerate"] = r.regenerate;
  j["nodes_before"] = r.nodes_before;
  j["nodes_after"] = r.nodes_after;
  j["tool_version"] = r.tool_version;
  j["versions"] = r.versions;
  j["tolerance"] = json::object();
  for (const auto& [dtype, tol] : r.tolerances) {
    j["tolerance"][std::string(dtype_name(dtype))] = {{"atol", tol.atol}, {"rtol", tol.rtol}};
  }
  j["minimize_log"] = r.minimize_log;
  j["results"] = r.results;
  if (!r.artifacts.empty()) {
    j["artifacts"] = json::object();
    for (const auto& [execution, side] : r.artifacts) {
      j["artifacts"][execution] = {{"files", side.files}, {"notes", side.notes}};
    }
  }
  if (!r.chain.is_null()) j["chain"] = r.chain;
  return j;
}

std::expected<CaseRecord, std::string> record_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    CaseRecord r;
    r.id = j.value("id", "");
    auto kind = parse_verdict_kind(j.at("kind").get<std::string>());
    if (!kind) return std::unexpected(std::string("unknown kind in case.json"));
    r.kind = *kind;
    r.execution = j.at("execution").get<std::string>();
    r.executions = j.at("executions").get<std::vector<std::string>>();
    r.ops = j.value("ops", std::vector<std::string>{});
    r.message = j.value("message", "");
    r.signature = j.value("signature", "");
    r.evidence = j.value("evidence", "");
    if (j.contains("seed") && !j["seed"].is_null()) r.seed = j["seed"].get<uint64_t>();
    r.regenerate = j.value("regenerate", "");
    r.nodes_before = j.value("nodes_before", 0);
    r.nodes_after = j.value("nodes_after", 0);
    r.tool_version = j.value("tool_version", "");
    r.versions = j.value("versions", std::map<std::string, std::string>{});
    if (j.contains("chain")) r.chain = j["chain"];
    if (j.contains("tolerance")) {
      const json& tolerance = j["tolerance"];
      if (tolerance.contains("float32_atol") || tolerance.contains("float32_rtol")) {
        // The float32-only form written before per-dtype tolerances.
        const Tolerance float32 = OracleConfig{}.tolerance_for(DType::kFloat);
        r.tolerances[DType::kFloat] = {tolerance.value("float32_atol", float32.atol),
                                       tolerance.value("float32_rtol", float32.rtol)};
      } else {
        for (const auto& [name, tol] : tolerance.items()) {
          auto dtype = dtype_from_name(name);
          if (!dtype) return std::unexpected(fmt::format("unknown dtype '{}' in tolerance", name));
          r.tolerances[*dtype] = {tol.at("atol").get<double>(), tol.at("rtol").get<double>()};
        }
      }
    }
    r.minimize_log = j.value("minimize_log", "");
    r.results = j.value("results", std::vector<std::string>{});
    if (j.contains("artifacts")) {
      for (const auto& [execution, side] : j["artifacts"].items()) {
        CaseArtifacts& a = r.artifacts[execution];
        a.files = side.value("files", std::vector<std::string>{});
        a.notes = side.value("notes", std::map<std::string, std::vector<std::string>>{});
      }
    }
    if (r.executions.empty()) return std::unexpected(std::string("case.json lists no executions"));
    return r;
  } catch (const std::exception& e) {
    return std::unexpected(fmt::format("invalid case.json: {}", e.what()));
  }
}

std::expected<std::string, std::string> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(fmt::format("cannot read {}", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Writes tensors as <prefix>_<i>.pb in the order of `names`.
std::expected<void, std::string> write_tensors(const fs::path& dir, const char* prefix,
                                               const std::vector<std::string>& names,
                                               const TensorMap& tensors) {
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = tensors.find(names[i]);
    if (it == tensors.end()) continue;
    const std::string bytes = tensor_to_proto(it->second, names[i]).SerializeAsString();
    auto ok = write_file_synced(dir / fmt::format("{}_{}.pb", prefix, i), bytes);
    if (!ok) return ok;
  }
  return {};
}

std::atomic<int> temp_counter{0};

// model.onnx and test_data_set_0/{input,output}_<i>.pb: the ONNX backend-test layout.
std::expected<void, std::string> write_test_case_files(const fs::path& dir,
                                                       const onnx::ModelProto& model,
                                                       const TensorMap& inputs,
                                                       const TensorMap& outputs) {
  std::error_code ec;
  fs::create_directories(dir / "test_data_set_0", ec);
  if (ec) return std::unexpected(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  std::vector<std::string> input_names;
  for (const auto* info : runtime_inputs(model.graph())) input_names.push_back(info->name());
  std::vector<std::string> output_names;
  for (const auto& output : model.graph().output()) output_names.push_back(output.name());
  for (auto step : {write_file_synced(dir / "model.onnx", serialize_model(model)),
                    write_tensors(dir / "test_data_set_0", "input", input_names, inputs),
                    write_tensors(dir / "test_data_set_0", "output", output_names, outputs)}) {
    if (!step) return step;
  }
  fsync_dir(dir / "test_data_set_0");
  return {};
}

}  // namespace

std::expected<void, std::string> write_test_case(const std::string& dir,
                                                 const onnx::ModelProto& model,
                                                 const TensorMap& inputs,
                                                 const TensorMap& outputs) {
  const fs::path target(dir);
  const fs::path temp =
      target.parent_path() /
      fmt::format(".tmp-{}-{}-{}", target.filename().string(), ::getpid(), temp_counter++);
  std::error_code ec;
  fs::remove_all(temp, ec);
  auto written = write_test_case_files(temp, model, inputs, outputs);
  if (written) {
    fsync_dir(temp);
    fs::remove_all(target, ec);
    fs::rename(temp, target, ec);
    if (!ec) return {};
    written = std::unexpected(
        fmt::format("cannot rename {} into place: {}", temp.string(), ec.message()));
  }
  fs::remove_all(temp, ec);
  return written;
}

bool dedupes_by_message(VerdictKind kind) { return kind == VerdictKind::kRejection; }

std::string finding_signature(const Verdict& verdict, const std::vector<std::string>& ops) {
  const std::string op_sequence = fmt::format("{}", fmt::join(ops, ">"));
  switch (verdict.kind) {
    case VerdictKind::kRejection:
      return fmt::format("rejection|{}|{}", verdict.execution, verdict.message);
    case VerdictKind::kCrash:
    case VerdictKind::kHang:
      return fmt::format("{}|{}|{}|{}", verdict_kind_name(verdict.kind), verdict.execution,
                         verdict.message, op_sequence);
    case VerdictKind::kShape:
    case VerdictKind::kNumeric:
    case VerdictKind::kAcceptedInvalid:
      break;
  }
  return fmt::format("{}|{}|{}", verdict_kind_name(verdict.kind), verdict.execution, op_sequence);
}

std::string case_id(const CaseRecord& record) {
  return fmt::format("{}-{}-{:016x}", verdict_kind_name(record.kind), record.execution,
                     fnv1a(record.signature));
}

std::expected<void, std::string> write_file_atomic(const std::string& path,
                                                   const std::string& bytes,
                                                   Durability durability) {
  const fs::path target(path);
  const fs::path temp =
      target.parent_path() / fmt::format(".{}.tmp.{}", target.filename().string(), ::getpid());
  auto ok = write_file_synced(temp, bytes, durability == Durability::kSynced);
  if (!ok) return ok;
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    return std::unexpected(fmt::format("cannot rename into {}", path));
  }
  return {};
}

std::expected<std::string, std::string> write_case(
    const std::string& out_dir, const CaseRecord& record, const onnx::ModelProto& model,
    const onnx::ModelProto& original, const TensorMap& inputs, const TensorMap& expected_outputs,
    bool* existed, bool replace, const std::vector<RunArtifact>& files) {
  if (existed) *existed = false;
  const fs::path cases = fs::path(out_dir) / "cases";
  const fs::path final_dir = cases / record.id;
  std::error_code ec;
  fs::create_directories(cases, ec);
  if (ec) return std::unexpected(fmt::format("cannot create {}: {}", cases.string(), ec.message()));
  if (fs::exists(final_dir)) {
    if (existed) *existed = true;
    if (!replace) return final_dir.string();
  }
  const fs::path temp = cases / fmt::format(".tmp-{}-{}-{}", record.id, ::getpid(), temp_counter++);
  fs::remove_all(temp, ec);
  auto cleanup_on_error = [&](const std::string& why) {
    fs::remove_all(temp, ec);
    return std::unexpected(why);
  };
  for (auto step : {write_test_case_files(temp, model, inputs, expected_outputs),
                    write_file_synced(temp / "original.onnx", serialize_model(original)),
                    write_file_synced(temp / "case.json", record_to_json(record).dump(2) + "\n"),
                    write_file_synced(temp / "report.md",
                                      render_report(record, model, inputs, expected_outputs))}) {
    if (!step) return cleanup_on_error(step.error());
  }
  for (const RunArtifact& file : files) {
    if (auto step = write_file_synced(temp / file.file_name, file.bytes); !step) {
      return cleanup_on_error(step.error());
    }
  }
  if (writes_repro_files(record)) {  // issue-ready as stored; `onnxfuzz report` rewrites them
    for (auto step : {write_file_synced(temp / "repro.mjs", render_repro_mjs(record)),
                      write_file_synced(temp / "repro.py", render_repro_py(record))}) {
      if (!step) return cleanup_on_error(step.error());
    }
  }
  fsync_dir(temp);
  if (replace && fs::exists(final_dir)) {
    // Move the old case aside first: a reader sees the old case, or the new one, never a mix.
    const fs::path old = cases / fmt::format(".tmp-old-{}-{}-0", record.id, ::getpid());
    fs::remove_all(old, ec);
    fs::rename(final_dir, old, ec);
    if (ec)
      return cleanup_on_error(
          fmt::format("cannot replace {}: {}", final_dir.string(), ec.message()));
    fs::rename(temp, final_dir, ec);
    if (ec) {
      fs::rename(old, final_dir, ec);
      return cleanup_on_error(fmt::format("cannot replace {}", final_dir.string()));
    }
    fs::remove_all(old, ec);
    fsync_dir(cases);
    return final_dir.string();
  }
  fs::rename(temp, final_dir, ec);
  if (ec) {
    // Another instance may have written the same finding first.
    if (fs::exists(final_dir)) {
      fs::remove_all(temp, ec);
      if (existed) *existed = true;
      return final_dir.string();
    }
    return cleanup_on_error(
        fmt::format("cannot rename {} into place: {}", temp.string(), ec.message()));
  }
  fsync_dir(cases);
  return final_dir.string();
}

std::string artifact_file_name(const std::string& execution, const std::string& artifact,
                               std::vector<std::string>& taken) {
  static const std::vector<std::string> kCaseFiles = {"model.onnx", "original.onnx", "case.json",
                                                      "report.md", "test_data_set_0",
                                                      "repro.mjs", "repro.py"};
  auto plain = [](std::string name) {
    std::ranges::replace(name, '/', '_');
    if (name.empty() || name == "." || name == "..") name = "artifact";
    return name;
  };
  std::string name = plain(artifact);
  auto used = [&](const std::string& n) {
    return std::ranges::find(kCaseFiles, n) != kCaseFiles.end() ||
           std::ranges::find(taken, n) != taken.end();
  };
  if (used(name)) name = plain(execution + "-" + artifact);
  for (int i = 2; used(name); ++i) name = plain(fmt::format("{}-{}-{}", execution, i, artifact));
  taken.push_back(name);
  return name;
}

std::expected<CaseRecord, std::string> read_case_record(const std::string& dir) {
  auto text = read_whole(fs::path(dir) / "case.json");
  if (!text) return std::unexpected(text.error());
  auto record = record_from_json(*text);
  if (!record) return std::unexpected(fmt::format("{}: {}", dir, record.error()));
  return record;
}

bool is_test_case_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / "model.onnx", ec);
}

std::expected<TestCase, std::string> read_test_case(const std::string& dir) {
  TestCase tc;
  tc.dir = dir;
  if (!is_test_case_dir(dir)) {
    return std::unexpected(fmt::format("{}: not a test-case directory (no model.onnx)", dir));
  }
  auto model = load_model((fs::path(dir) / "model.onnx").string());
  if (!model) return std::unexpected(model.error());
  tc.model = std::move(*model);
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "original.onnx", ec)) {
    auto original = load_model((fs::path(dir) / "original.onnx").string());
    if (!original) return std::unexpected(original.error());
    tc.original = std::move(*original);
  }
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  const auto inputs = runtime_inputs(tc.model.graph());
  for (const auto& set : sets) {
    TensorMap in;
    TensorMap out;
    for (size_t i = 0;; ++i) {
      const fs::path file = set / fmt::format("input_{}.pb", i);
      if (!fs::exists(file, ec)) break;
      auto tensor = read_tensor_file(file.string());
      if (!tensor) return std::unexpected(tensor.error());
      // The layout is positional: input_i feeds the i-th runtime input, whatever name the
      // file carries (many test files store none, or a stale one).
      std::string name = i < inputs.size() ? inputs[i]->name() : tensor->first;
      in.insert_or_assign(name, std::move(tensor->second));
    }
    for (int i = 0;; ++i) {
      const fs::path file = set / fmt::format("output_{}.pb", i);
      if (!fs::exists(file, ec)) break;
      auto tensor = read_tensor_file(file.string());
      if (!tensor) return std::unexpected(tensor.error());
      std::string name =
          i < tc.model.graph().output_size() ? tc.model.graph().output(i).name() : tensor->first;
      out.insert_or_assign(name, std::move(tensor->second));
    }
    tc.inputs.push_back(std::move(in));
    tc.expected.push_back(std::move(out));
  }
  if (fs::exists(fs::path(dir) / "case.json", ec)) {
    auto record = read_case_record(dir);
    if (!record) return std::unexpected(record.error());
    tc.record = std::move(*record);
  }
  return tc;
}

std::expected<std::vector<std::string>, std::string> find_case_dirs(
    const std::vector<std::string>& paths) {
  std::vector<std::string> found;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::unexpected(fmt::format("{}: no such directory", path));
    if (is_test_case_dir(path)) {
      found.push_back(path);
      continue;
    }
    if (!fs::is_directory(path, ec)) {
      return std::unexpected(fmt::format("{}: not a directory of cases", path));
    }
    fs::path root = fs::path(path);
    if (fs::is_directory(root / "cases", ec)) root /= "cases";
    std::vector<std::string> here;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.') continue;  // temporaries of a running campaign
      if (is_test_case_dir(entry.path().string())) here.push_back(entry.path().string());
    }
    std::sort(here.begin(), here.end());
    found.insert(found.end(), here.begin(), here.end());
  }
  return found;
}

void remove_stale_temporaries(const std::string& out_dir) {
  std::error_code ec;
  const fs::path cases = fs::path(out_dir) / "cases";
  if (!fs::is_directory(cases, ec)) return;
  for (const auto& entry : fs::directory_iterator(cases, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) != 0) continue;
    // .tmp-<id>-<pid>-<n>: leave the temporaries of instances still running (parallel
    // campaigns may share one OUT); only a dead writer's are stale.
    const size_t last = name.rfind('-');
    const size_t before = last == std::string::npos ? last : name.rfind('-', last - 1);
    if (before != std::string::npos) {
      const pid_t pid =
          static_cast<pid_t>(std::atoll(name.substr(before + 1, last - before - 1).c_str()));
      if (pid > 0 && pid != ::getpid() && (::kill(pid, 0) == 0 || errno == EPERM)) continue;
    }
    fs::remove_all(entry.path(), ec);
  }
}

}  // namespace onnxfuzz
