#!/usr/bin/env bash
# Submits an onnxfuzz campaign to Slurm: a job array with one shard per array task
# (`onnxfuzz fuzz --shard $SLURM_ARRAY_TASK_ID/N`), then a merge job that depends on the
# whole array (afterany) and runs `onnxfuzz merge`, `status` and `triage` (and `plot`).
# Run with --help for the options; --dry-run prints what would be submitted.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prog=$(basename "$0")

usage() {
  cat <<EOF
usage: $prog --out BASE [options] [-- FUZZ_ARGS...]

Submits a sharded onnxfuzz campaign as a Slurm job array (one shard per array task) and a
merge job that runs after every task has ended (afterany):
  task i:  onnxfuzz fuzz --shard i/N --seed S --time T --out BASE/shard-i ... FUZZ_ARGS
  merge:   scripts/cluster/merge-shards.sh: onnxfuzz merge BASE/shard-* --into BASE/merged,
           then onnxfuzz status and triage of BASE/merged (BASE/status.txt, BASE/triage.txt);
           with --plot, onnxfuzz plot
BASE must be on a filesystem every node mounts (the binary and the project too).

options (environment variable in brackets):
  -o, --out BASE          campaign directory; must not hold a campaign yet [ONNXFUZZ_OUT]
  -n, --shards N          array tasks, one shard each (default 4) [ONNXFUZZ_SHARDS]
  -t, --time DUR          campaign length of each shard: 90s, 30m, 2h (default 1h) [ONNXFUZZ_SHARD_TIME]
  -i, --iterations M      models per shard instead of --time [ONNXFUZZ_ITERATIONS]
  -e, --executions LIST   fuzz --executions (default ref,ort) [ONNXFUZZ_EXECUTIONS]
  -j, --jobs J            fuzz --jobs in each task, and --cpus-per-task J (default 1) [ONNXFUZZ_JOBS]
  -s, --seed S            master seed shared by all shards (default: drawn here) [ONNXFUZZ_SEED]
  -p, --partition NAME    Slurm partition (default: the cluster's default) [ONNXFUZZ_PARTITION]
      --time-limit MIN    Slurm time limit of a task in minutes (default: DUR + 15) [ONNXFUZZ_TIME_LIMIT]
      --max-running K     at most K array tasks at once (--array 0-(N-1)%K) [ONNXFUZZ_MAX_RUNNING]
      --sbatch-arg ARG    extra argument for both sbatch calls, repeatable (--account=x, --mem=8G)
      --onnxfuzz PATH     the onnxfuzz binary (default: $root/build/onnxfuzz) [ONNXFUZZ_BIN]
      --plot              the merge job also draws plots (needs gnuplot on the node)
      --wait              wait for the merge job, then print the triage table
      --dry-run           print the job scripts and sbatch commands; submit and write nothing
  -h, --help              this message
Arguments after -- go to every 'onnxfuzz fuzz' unchanged (e.g. -- --max-nodes 6 --no-minimize).

exit codes:
  0  submitted (with --wait: the merge job merged and triaged; with --dry-run: printed)
  1  with --wait: the merge job failed (see BASE/logs/merge.log)
  2  usage error (bad or missing option)
  4  environment error (no sbatch, missing binary, BASE not writable, submission refused)
A shard task exits 0 when 'onnxfuzz fuzz' exits 0 (no new findings) or 1 (findings stored):
finding bugs is what it is for, so Slurm does not mark such a task FAILED. Any other fuzz
exit code (2 usage, 3 bad input, 4 environment) fails the task with that code.
EOF
}

die_usage() {
  echo "$prog: $*" >&2
  echo "run '$prog --help' for the options" >&2
  exit 2
}
die_env() {
  echo "$prog: $*" >&2
  exit 4
}

out=${ONNXFUZZ_OUT:-}
shards=${ONNXFUZZ_SHARDS:-4}
shard_time=${ONNXFUZZ_SHARD_TIME:-1h}
iterations=${ONNXFUZZ_ITERATIONS:-}
executions=${ONNXFUZZ_EXECUTIONS:-ref,ort}
jobs=${ONNXFUZZ_JOBS:-1}
seed=${ONNXFUZZ_SEED:-}
partition=${ONNXFUZZ_PARTITION:-}
time_limit=${ONNXFUZZ_TIME_LIMIT:-}
max_running=${ONNXFUZZ_MAX_RUNNING:-}
bin=${ONNXFUZZ_BIN:-$root/build/onnxfuzz}
plot=0
wait_merge=0
dry_run=0
time_given=0
sbatch_extra=()
fuzz_extra=()

need_value() {  # option, number of remaining arguments
  [ "$2" -ge 2 ] || die_usage "$1 needs a value"
}
while [ $# -gt 0 ]; do
  case $1 in
    --?*=*) opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@"; continue ;;
  esac
  case $1 in
    -o|--out) need_value "$1" $#; out=$2; shift 2 ;;
    -n|--shards) need_value "$1" $#; shards=$2; shift 2 ;;
    -t|--time) need_value "$1" $#; shard_time=$2; time_given=1; shift 2 ;;
    -i|--iterations) need_value "$1" $#; iterations=$2; shift 2 ;;
    -e|--executions) need_value "$1" $#; executions=$2; shift 2 ;;
    -j|--jobs) need_value "$1" $#; jobs=$2; shift 2 ;;
    -s|--seed) need_value "$1" $#; seed=$2; shift 2 ;;
    -p|--partition) need_value "$1" $#; partition=$2; shift 2 ;;
    --time-limit) need_value "$1" $#; time_limit=$2; shift 2 ;;
    --max-running) need_value "$1" $#; max_running=$2; shift 2 ;;
    --sbatch-arg) need_value "$1" $#; sbatch_extra+=("$2"); shift 2 ;;
    --onnxfuzz) need_value "$1" $#; bin=$2; shift 2 ;;
    --plot) plot=1; shift ;;
    --wait) wait_merge=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; fuzz_extra=("$@"); break ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

[ -n "$out" ] || die_usage "--out BASE is required"
is_uint "$shards" && [ "${#shards}" -le 6 ] && [ $((10#$shards)) -ge 1 ] || die_usage "--shards: expected N >= 1, got '$shards'"
shards=$((10#$shards))
is_uint "$jobs" && [ "${#jobs}" -le 4 ] && [ $((10#$jobs)) -ge 1 ] || die_usage "--jobs: expected J >= 1, got '$jobs'"
jobs=$((10#$jobs))
# Duration as fuzz --time takes it: seconds, or a number with s, m or h.
if [[ $shard_time =~ ^([0-9]+)([smh]?)$ ]]; then
  case ${BASH_REMATCH[2]} in
    h) time_seconds=$((BASH_REMATCH[1] * 3600)) ;;
    m) time_seconds=$((BASH_REMATCH[1] * 60)) ;;
    *) time_seconds=${BASH_REMATCH[1]} ;;
  esac
  [ "$time_seconds" -ge 1 ] || die_usage "--time: expected a duration > 0, got '$shard_time'"
else
  die_usage "--time: expected a duration like 90s, 30m or 2h, got '$shard_time'"
fi
if [ -n "$iterations" ]; then
  is_uint "$iterations" && [ "$iterations" -ge 1 ] || die_usage "--iterations: expected M >= 1, got '$iterations'"
  [ "$time_given" = 0 ] || die_usage "--time and --iterations exclude each other"
fi
[[ $executions =~ ^[A-Za-z0-9@.:+,_-]+$ ]] || die_usage "--executions: expected a comma-separated list, got '$executions'"
if [ -z "$seed" ]; then
  # One master seed for all shards: each shard mixes it with its index, so the streams are
  # disjoint, and the campaign can be repeated with --seed.
  seed=$(( (RANDOM << 45) ^ (RANDOM << 30) ^ (RANDOM << 15) ^ RANDOM ))
fi
is_uint "$seed" || die_usage "--seed: expected an unsigned integer, got '$seed'"
[ -z "$partition" ] || [[ $partition =~ ^[A-Za-z0-9_.,-]+$ ]] || die_usage "--partition: bad name '$partition'"
if [ -n "$time_limit" ]; then
  is_uint "$time_limit" && [ "$time_limit" -ge 1 ] || die_usage "--time-limit: expected minutes >= 1, got '$time_limit'"
elif [ -n "$iterations" ]; then
  time_limit=1440  # no duration to derive it from: one day
else
  # The campaign's length, plus room for the last minimization (--minimize-budget, 60 s by
  # default), worker start-up and the final writes.
  time_limit=$(( (time_seconds + 59) / 60 + 15 ))
fi
if [ -n "$max_running" ]; then
  is_uint "$max_running" && [ "$max_running" -ge 1 ] || die_usage "--max-running: expected K >= 1, got '$max_running'"
fi
for arg in ${fuzz_extra[@]+"${fuzz_extra[@]}"}; do
  case $arg in
    --out|--out=*|--shard|--shard=*|--seed|--seed=*|--time|--time=*|--iterations|--iterations=*|--jobs|--jobs=*|--executions|--executions=*|--resume|--instance|--instance=*)
      die_usage "fuzz argument $arg is set by this script; use its own option" ;;
  esac
done

case $out in /*) ;; *) out=$(pwd)/$out ;; esac
out=${out%/}
case $bin in /*) ;; *) bin=$(cd "$(dirname "$bin")" 2>/dev/null && pwd)/$(basename "$bin") ;; esac
[ -x "$bin" ] || die_env "onnxfuzz binary not found or not executable: $bin (build it, or pass --onnxfuzz PATH)"
if compgen -G "$out/shard-*" >/dev/null || [ -e "$out/merged" ]; then
  die_env "$out already holds a campaign (shard-*/ or merged/); choose another --out"
fi
if [ "$dry_run" = 0 ]; then
  command -v sbatch >/dev/null || die_env "sbatch not found: run on a Slurm login node (or scripts/cluster/slurm-local.sh start)"
fi

# ---- the job scripts -------------------------------------------------------------------------
q() {  # shell-quotes $1, leaving plain words (paths, comma lists) as they are
  if [[ $1 =~ ^[A-Za-z0-9@%+=:,./_-]+$ ]]; then printf '%s' "$1"; else printf '%q' "$1"; fi
}
quoted_fuzz_extra=""
for arg in ${fuzz_extra[@]+"${fuzz_extra[@]}"}; do quoted_fuzz_extra+=" $(q "$arg")"; done
plot_flag=""
[ "$plot" = 0 ] || plot_flag=" --plot"
if [ -n "$iterations" ]; then length="--iterations $iterations"; else length="--time $(q "$shard_time")"; fi

shard_script=$(cat <<EOF
#!/usr/bin/env bash
# One shard of the onnxfuzz campaign in $(q "$out"): array task i runs shard i of $shards.
set -uo pipefail
i=\${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}
shard_out=$(q "$out")/shard-\$i
if [ -f "\$shard_out/campaign.json" ]; then
  # A requeued task (preemption, node failure) continues its campaign where it stopped.
  $(q "$bin") fuzz --resume --out "\$shard_out" --no-status
else
  $(q "$bin") fuzz --shard "\$i/$shards" --seed $seed $length --executions $(q "$executions") --jobs $jobs --out "\$shard_out" --no-status$quoted_fuzz_extra
fi
rc=\$?
echo "\$rc" > $(q "$out")/logs/shard-\$i.rc
case \$rc in
  0) echo "shard \$i: fuzz exit 0 (no new findings)"; exit 0 ;;
  1) echo "shard \$i: fuzz exit 1 (new findings stored in \$shard_out/cases)"; exit 0 ;;
  *) echo "shard \$i: fuzz failed with exit \$rc" >&2; exit "\$rc" ;;
esac
EOF
)

merge_script=$(cat <<EOF
#!/usr/bin/env bash
# Merges the shards of the onnxfuzz campaign in $(q "$out") and triages the merged cases
# (scripts/cluster/merge-shards.sh); logs/merge.rc receives its exit code.
set -uo pipefail
rc=0
bash $(q "$root/scripts/cluster/merge-shards.sh") --shards $shards$plot_flag --onnxfuzz $(q "$bin") $(q "$out") || rc=\$?
echo "\$rc" > $(q "$out")/logs/merge.rc
exit "\$rc"
EOF
)

common_args=()
[ -z "$partition" ] || common_args+=(--partition "$partition")
common_args+=(${sbatch_extra[@]+"${sbatch_extra[@]}"})
array_spec="0-$((shards - 1))${max_running:+%$max_running}"
array_cmd=(sbatch --parsable --job-name onnxfuzz-shard --array "$array_spec"
  --cpus-per-task "$jobs" --time "$time_limit" --output "$out/logs/shard-%a.log"
  ${common_args[@]+"${common_args[@]}"} "$out/slurm/shard.sh")
merge_cmd=(sbatch --parsable --job-name onnxfuzz-merge --dependency "afterany:ARRAY_JOB_ID"
  --kill-on-invalid-dep=yes --cpus-per-task 1 --time 60 --output "$out/logs/merge.log"
  ${common_args[@]+"${common_args[@]}"} "$out/slurm/merge.sh")

print_cmd() { local a; for a in "$@"; do printf '%s ' "$(q "$a")"; done; printf '\n'; }

if [ "$dry_run" = 1 ]; then
  echo "# dry run: nothing is written or submitted"
  echo "# $out/slurm/shard.sh:"
  echo "$shard_script"
  echo "# $out/slurm/merge.sh:"
  echo "$merge_script"
  echo "# submit:"
  print_cmd "${array_cmd[@]}"
  print_cmd "${merge_cmd[@]}"
  exit 0
fi

mkdir -p "$out/slurm" "$out/logs" 2>/dev/null || die_env "cannot create $out/slurm and $out/logs"
[ -w "$out" ] || die_env "$out is not writable"
printf '%s\n' "$shard_script" > "$out/slurm/shard.sh"
printf '%s\n' "$merge_script" > "$out/slurm/merge.sh"
chmod +x "$out/slurm/shard.sh" "$out/slurm/merge.sh"

array_id=$("${array_cmd[@]}") || die_env "sbatch refused the shard array"
array_id=${array_id%%;*}
merge_cmd=("${merge_cmd[@]/ARRAY_JOB_ID/$array_id}")
if ! merge_id=$("${merge_cmd[@]}"); then
  scancel "$array_id" 2>/dev/null || true
  die_env "sbatch refused the merge job (the shard array $array_id was cancelled)"
fi
merge_id=${merge_id%%;*}
{
  echo "submitted: $(date -u +%FT%TZ)"
  echo "seed: $seed"
  echo "shard array: $array_id ($shards tasks)"
  echo "merge job: $merge_id"
  printf 'array command: '; print_cmd "${array_cmd[@]}"
  printf 'merge command: '; print_cmd "${merge_cmd[@]}"
} > "$out/submitted.txt"
if [ -n "$iterations" ]; then label="$iterations models"; else label=$shard_time; fi
echo "shard array $array_id: $shards x onnxfuzz fuzz ($label each, seed $seed) -> $out/shard-*"
echo "merge job $merge_id (after the array) -> $out/merged, $out/triage.txt; logs in $out/logs/"

[ "$wait_merge" = 1 ] || exit 0
# Wait until the merge job has left the queue; its script writes logs/merge.rc on exit.
# squeue prints nothing for an ended job, and fails once the job is purged (MinJobAge) or
# while slurmctld does not answer: a few failures in a row end the wait.
failures=0
while :; do
  if state=$(squeue -h -j "$merge_id" -o %T 2>/dev/null); then
    failures=0
    [ -n "$state" ] || break
  else
    failures=$((failures + 1))
    [ "$failures" -lt 6 ] || break
  fi
  sleep 5
done
if [ ! -f "$out/logs/merge.rc" ]; then
  echo "$prog: merge job $merge_id ended without running to the end; see $out/logs/merge.log" >&2
  exit 1
fi
merge_rc=$(cat "$out/logs/merge.rc")
echo "---- merge job $merge_id (exit $merge_rc): $out/logs/merge.log"
cat "$out/logs/merge.log"
[ "$merge_rc" = 0 ] || exit 1
