// Journal of findings: append-only JSON lines.
#include "corpus/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace onnxfuzz {

std::string_view finding_outcome_name(FindingOutcome outcome) {
  switch (outcome) {
    case FindingOutcome::kNew:
      return "new";
    case FindingOutcome::kDuplicate:
      return "duplicate";
    case FindingOutcome::kKnown:
      return "known";
    case FindingOutcome::kFlaky:
      return "flaky";
    case FindingOutcome::kPropagated:
      return "propagated";
  }
  return "unknown";
}

std::expected<Journal, std::string> Journal::open(const std::string& out_dir) {
  const std::string path = (std::filesystem::path(out_dir) / "findings.jsonl").string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(fmt::format("cannot open {}: {}", path, strerror(errno)));
  return Journal(fd);
}

Journal::Journal(Journal&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::append(const JournalEntry& entry) {
  nlohmann::json j;
  j["time"] = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  j["model_seed"] = entry.model_seed;
  j["kind"] = std::string(verdict_kind_name(entry.verdict.kind));
  j["execution"] = entry.verdict.execution;
  j["message"] = entry.verdict.message;
  j["outcome"] = std::string(finding_outcome_name(entry.outcome));
  j["case"] = entry.case_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(entry.case_id);
  j["model_ops"] = entry.model_ops;
  if (!entry.root_cause.empty()) j["root_cause"] = entry.root_cause;
  if (!entry.chain.is_null()) j["chain"] = entry.chain;
  const std::string line = j.dump() + "\n";
  // A journal line lost to a full disk must not stop the campaign: the cases are what count.
  (void)!::write(fd_, line.data(), line.size());
}

}  // namespace onnxfuzz
