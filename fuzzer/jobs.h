// Campaigns at scale: parallel jobs sharing one output directory, seed streams per shard and
// job, the status of a campaign across instances, merging outputs, plots of stats.csv.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace onnxfuzz {

// --shard i/n: this machine's part of a campaign run on n machines.
struct Shard {
  int index = 0;
  int count = 1;
};
std::expected<Shard, std::string> parse_shard(std::string_view text);  // "i/n", 0 <= i < n
// The cores this process may use: online CPUs, narrowed by its CPU affinity (a cpuset) and by
// a cgroup v2 CPU quota; at least 1. What `--jobs all` starts.
int usable_cores();
// --jobs: N >= 1, or "all" (usable_cores()).
std::expected<int, std::string> parse_jobs(std::string_view text);

// The seed stream of one instance: the master seed itself for a lone process (so that earlier
// campaigns repeat), else a value mixed from the master seed, the shard and the job.
uint64_t instance_seed(uint64_t master, Shard shard, int job, bool lone);
std::string instance_name(int job);  // "job-3"

// OUT/campaign.json: the fuzz arguments (master seed included) and the number of jobs, so
// that `fuzz --resume --out OUT` repeats the campaign exactly.
struct CampaignManifest {
  std::vector<std::string> args;
  int jobs = 1;
};
std::expected<void, std::string> write_manifest(const std::string& out_dir,
                                                const CampaignManifest& manifest);
// Error when OUT is not a campaign (no readable campaign.json).
std::expected<CampaignManifest, std::string> read_manifest(const std::string& out_dir);

// Runs `jobs` processes `onnxfuzz fuzz ARGS --instance i` (each logging to OUT/job-i/log.txt),
// forwards SIGINT/SIGTERM to them, prints a merged status line every `status_seconds` and a
// merged summary at the end; writes the merged OUT/stats.json. Returns the exit code.
int run_jobs(const std::string& out_dir, const std::vector<std::string>& args, int jobs,
             double status_seconds);

// One instance of a campaign: OUT itself (a lone process) or OUT/job-<i>/.
struct InstanceStatus {
  std::string name;
  std::string dir;
  int64_t pid = 0;
  bool alive = false;
  nlohmann::json state;  // its state.json (empty when it wrote none yet)
};
std::expected<std::vector<InstanceStatus>, std::string> read_instances(const std::string& out_dir);

// Runs not judged because they are out of scope (backend gaps, uncarried dtypes, limits), with
// their share of `models`; when gaps and uncarried dtypes kept more than a tenth of the models
// from an execution, how to draw only what it runs. Empty when there are none.
std::string skipped_runs_text(const std::map<std::string, int64_t>& unsupported, int64_t models);

// Counters summed over instances, coverage as the union, cases counted in OUT/cases/.
nlohmann::json merged_status(const std::string& out_dir,
                             const std::vector<InstanceStatus>& instances);
std::string render_status(const nlohmann::json& merged, const std::vector<InstanceStatus>& instances);

// Merges the cases of `inputs` into `into`/cases/ by signature, keeping of each signature the
// case with the fewest nodes in model.onnx; each case is copied and renamed into place.
struct MergeResult {
  int64_t signatures = 0;
  int64_t copied = 0;    // new signatures
  int64_t replaced = 0;  // a smaller reproducer replaced the one in `into`
  int64_t kept = 0;      // `into` already held the smallest
};
std::expected<MergeResult, std::string> merge_campaigns(const std::vector<std::string>& inputs,
                                                        const std::string& into);

// PNG plots (findings, coverage, throughput over time) of every instance's stats.csv, drawn
// by gnuplot into OUT/plots/. Error when gnuplot is missing or fails.
std::expected<std::vector<std::string>, std::string> plot_campaign(const std::string& out_dir);

}  // namespace onnxfuzz
