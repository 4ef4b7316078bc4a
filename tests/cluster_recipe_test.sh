#!/usr/bin/env bash
# scripts/cluster/ without a cluster: slurm-campaign.sh's bad-argument handling (exit 2 and 4),
# its --dry-run (the sbatch command lines and the shard and merge job scripts), then those job
# scripts run here as Slurm would run them (SLURM_ARRAY_TASK_ID=0 and 1, then the merge job)
# on a planted execution: shards exit 0 on findings, the merge job merges, reports status and
# triages. Usage: cluster_recipe_test.sh [ONNXFUZZ_BINARY] (default build/onnxfuzz).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
recipe=$root/scripts/cluster/slurm-campaign.sh
local_cluster=$root/scripts/cluster/slurm-local.sh
bin=${1:-$root/build/onnxfuzz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# expect_exit CODE DESCRIPTION COMMAND...: runs COMMAND, output in $tmp/last.out
expect_exit() {
  local want=$1 what=$2 got=0
  shift 2
  "$@" >"$tmp/last.out" 2>&1 || got=$?
  if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, want $want"; sed 's/^/  | /' "$tmp/last.out" >&2; fi
}
# expect_line FILE TEXT: FILE has a line containing TEXT (fixed string)
expect_line() {
  if grep -qF -- "$2" "$1"; then ok; else bad "$(basename "$1") lacks: $2"; fi
}

out=$tmp/campaign
# ---- bad arguments: usage errors exit 2, environment errors 4 -------------------------------
expect_exit 0 "--help" bash "$recipe" --help
expect_line "$tmp/last.out" "usage: slurm-campaign.sh --out BASE"
expect_exit 2 "no --out" bash "$recipe" --dry-run --onnxfuzz "$bin"
expect_line "$tmp/last.out" "--out BASE is required"
expect_exit 2 "unknown option" bash "$recipe" --dry-run --out "$out" --frobnicate
expect_exit 2 "option without its value" bash "$recipe" --dry-run --out "$out" --shards
expect_exit 2 "--shards 0" bash "$recipe" --dry-run --out "$out" --shards 0
expect_exit 2 "--shards x" bash "$recipe" --dry-run --out "$out" --shards x
expect_exit 2 "--jobs 0" bash "$recipe" --dry-run --out "$out" --jobs 0
expect_exit 2 "--time 5x" bash "$recipe" --dry-run --out "$out" --time 5x
expect_exit 2 "--time 0s" bash "$recipe" --dry-run --out "$out" --time 0s
expect_exit 2 "--time with --iterations" bash "$recipe" --dry-run --out "$out" --time 1h --iterations 5
expect_exit 2 "--seed -1" bash "$recipe" --dry-run --out "$out" --seed -1
expect_exit 2 "--max-running 0" bash "$recipe" --dry-run --out "$out" --max-running 0
expect_exit 2 "fuzz argument the recipe sets" bash "$recipe" --dry-run --out "$out" -- --shard 0/2
expect_line "$tmp/last.out" "is set by this script"
expect_exit 4 "missing binary" bash "$recipe" --dry-run --out "$out" --onnxfuzz "$tmp/no-such-onnxfuzz"
mkdir -p "$tmp/used/shard-0"
expect_exit 4 "--out holding a campaign" bash "$recipe" --dry-run --out "$tmp/used" --onnxfuzz "$bin"
mkdir -p "$tmp/path"  # a PATH with the tools the recipe uses, but no sbatch
for tool in dirname basename cat mkdir chmod date; do ln -s "$(command -v "$tool")" "$tmp/path/"; done
expect_exit 4 "no sbatch on PATH" env PATH="$tmp/path" "$BASH" "$recipe" --out "$out" --onnxfuzz "$bin"
expect_line "$tmp/last.out" "sbatch not found"
expect_exit 2 "merge-shards.sh without BASE" bash "$root/scripts/cluster/merge-shards.sh" --onnxfuzz "$bin"
expect_exit 2 "merge-shards.sh --shards x" bash "$root/scripts/cluster/merge-shards.sh" --shards x "$tmp"
expect_exit 4 "merge-shards.sh on a missing BASE" bash "$root/scripts/cluster/merge-shards.sh" \
  --onnxfuzz "$bin" "$tmp/no-such-campaign"
expect_exit 0 "slurm-local.sh --help" bash "$local_cluster" --help
expect_exit 2 "slurm-local.sh unknown command" bash "$local_cluster" frobnicate

# ---- dry run: the sbatch command lines and the job scripts --------------------------------
expect_exit 0 "dry run" bash "$recipe" --dry-run --out "$out" --shards 3 --time 90m --jobs 2 \
  --seed 42 --partition debug --max-running 2 --sbatch-arg=--account=fuzz --onnxfuzz "$bin" \
  -- --max-nodes 6 --ops "Add,Mul"
dry=$tmp/dry.out
cp "$tmp/last.out" "$dry"
expect_line "$dry" "sbatch --parsable --job-name onnxfuzz-shard --array 0-2%2 --cpus-per-task 2 --time 105 --output $out/logs/shard-%a.log --partition debug --account=fuzz $out/slurm/shard.sh"
expect_line "$dry" "sbatch --parsable --job-name onnxfuzz-merge --dependency afterany:ARRAY_JOB_ID --kill-on-invalid-dep=yes --cpus-per-task 1 --time 60 --output $out/logs/merge.log --partition debug --account=fuzz $out/slurm/merge.sh"
expect_line "$dry" "$bin fuzz --shard \"\$i/3\" --seed 42 --time 90m --executions ref,ort --jobs 2 --out \"\$shard_out\" --no-status --max-nodes 6 --ops Add,Mul"
expect_line "$dry" "shard_out=$out/shard-\$i"
expect_line "$dry" "bash $root/scripts/cluster/merge-shards.sh --shards 3 --onnxfuzz $bin $out || rc=\$?"
expect_line "$dry" "echo \"\$rc\" > $out/logs/merge.rc"
if [ -e "$out" ]; then bad "--dry-run wrote $out"; else ok; fi
# Options from the environment; a value with spaces is quoted in the job script.
expect_exit 0 "options from the environment" env ONNXFUZZ_SHARDS=5 ONNXFUZZ_ITERATIONS=100 \
  ONNXFUZZ_EXECUTIONS=ref,ort-noopt ONNXFUZZ_SEED=9 "$BASH" "$recipe" --dry-run --out "$out" \
  --onnxfuzz "$bin" -- --known "$tmp/a b"
expect_line "$tmp/last.out" "--array 0-4 "
expect_line "$tmp/last.out" "--time 1440 "
expect_line "$tmp/last.out" "--shard \"\$i/5\" --seed 9 --iterations 100 --executions ref,ort-noopt --jobs 1"
expect_line "$tmp/last.out" "--known $tmp/a\\ b"

# ---- the job scripts, run as Slurm would run them ----------------------------------------
# slurm_scripts OUT FILE: cuts the shard and merge scripts out of a dry run's output.
slurm_scripts() {
  awk -v shard="$1/shard.sh" -v merge="$1/merge.sh" '
    /^# .*\/slurm\/shard.sh:$/ { f = shard; next }
    /^# .*\/slurm\/merge.sh:$/ { f = merge; next }
    /^# submit:$/ { f = ""; next }
    f != "" { print > f }' "$2"
}
export ONNXFUZZ_PLANTED=value=Sqrt,shape=Transpose
expect_exit 0 "dry run for the local run" bash "$recipe" --dry-run --out "$out" --shards 2 \
  --iterations 12 --executions ref,planted --seed 7 --onnxfuzz "$bin" \
  -- --max-nodes 4 --ops Sqrt,Transpose,Add,Relu
mkdir -p "$tmp/scripts" "$out/logs"
slurm_scripts "$tmp/scripts" "$tmp/last.out"
for i in 0 1; do
  expect_exit 0 "shard $i with findings" env SLURM_ARRAY_TASK_ID=$i bash "$tmp/scripts/shard.sh"
  expect_line "$out/logs/shard-$i.rc" "1"
  expect_line "$tmp/last.out" "shard $i: fuzz exit 1 (new findings stored"
  if compgen -G "$out/shard-$i/cases/*/case.json" >/dev/null; then ok; else bad "shard $i stored no case"; fi
done
expect_exit 0 "merge job" bash "$tmp/scripts/merge.sh"
expect_line "$out/logs/merge.rc" "0"
expect_line "$tmp/last.out" "shard 0: fuzz exit 1 (findings stored)"
expect_line "$tmp/last.out" "instances 2 "
expect_line "$tmp/last.out" "| models 24 "
expect_line "$out/triage.txt" "root causes in"
expect_line "$out/merged/instances.txt" "job-1 shard-1"
merged=$(find "$out/merged/cases" -mindepth 1 -maxdepth 1 -type d | wc -l)
sum=$(( $(find "$out"/shard-*/cases -mindepth 1 -maxdepth 1 -type d | wc -l) ))
if [ "$merged" -ge 1 ] && [ "$merged" -le "$sum" ]; then ok; else bad "merged cases $merged of $sum"; fi
# A shard whose fuzz fails (here a usage error) fails its array task with fuzz's code.
rm -rf "$out" "$tmp/scripts"
expect_exit 0 "dry run with a bad fuzz argument" bash "$recipe" --dry-run --out "$out" \
  --shards 1 --iterations 2 --executions ref --onnxfuzz "$bin" -- --ops NoSuchOp
mkdir -p "$tmp/scripts" "$out/logs"
slurm_scripts "$tmp/scripts" "$tmp/last.out"
expect_exit 2 "shard whose fuzz fails" env SLURM_ARRAY_TASK_ID=0 bash "$tmp/scripts/shard.sh"
expect_exit 4 "merge job without shards" bash "$tmp/scripts/merge.sh"
expect_line "$out/logs/merge.rc" "4"

echo "cluster recipe: $passed passed, $failed failed"
[ "$failed" = 0 ]
