#!/usr/bin/env bash
# The last step of a sharded campaign (Slurm's merge job, Kubernetes' merge Job, or by hand):
# merges BASE/shard-*/ into BASE/merged/, and reports status and triage over all shards.
set -euo pipefail
shopt -s nullglob
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prog=$(basename "$0")

usage() {
  cat <<EOF
usage: $prog [--shards N] [--plot] [--onnxfuzz PATH] BASE

Merges the shards of a campaign, BASE/shard-<i>/ (written by 'onnxfuzz fuzz --shard i/N
--out BASE/shard-<i>'), into BASE/merged/:
  - onnxfuzz merge BASE/shard-* --into BASE/merged (one case per signature, the smallest);
  - each shard instance's stats and journals (state.json, stats.json, stats.csv,
    findings.jsonl, ngrams.json) are copied to BASE/merged/job-<k>/ (listed in
    BASE/merged/instances.txt), so that status, plot and triage see every shard;
  - onnxfuzz status BASE/merged > BASE/status.txt, onnxfuzz triage BASE/merged > BASE/triage.txt
    (both also printed), and with --plot onnxfuzz plot BASE/merged (PNGs in BASE/merged/plots/).
--shards N reports each shard's fuzz exit code (BASE/logs/shard-<i>.rc), or its absence.
--onnxfuzz defaults to \$ONNXFUZZ_BIN, else onnxfuzz on PATH, else $root/build/onnxfuzz.
exit codes: 0 merged (with or without cases), 2 usage error, 4 no shard directory or an
onnxfuzz step failed.
EOF
}
die_usage() {
  echo "$prog: $*" >&2
  echo "run '$prog --help' for the options" >&2
  exit 2
}

shards=""
plot=0
bin=${ONNXFUZZ_BIN:-}
base=""
while [ $# -gt 0 ]; do
  case $1 in
    --shards) [ $# -ge 2 ] || die_usage "--shards needs a value"; shards=$2; shift 2 ;;
    --onnxfuzz) [ $# -ge 2 ] || die_usage "--onnxfuzz needs a value"; bin=$2; shift 2 ;;
    --plot) plot=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die_usage "unknown option '$1'" ;;
    *) [ -z "$base" ] || die_usage "one BASE only (got '$base' and '$1')"; base=$1; shift ;;
  esac
done
[ -n "$base" ] || die_usage "BASE is required"
[ -z "$shards" ] || [[ $shards =~ ^[1-9][0-9]{0,5}$ ]] || die_usage "--shards: expected N >= 1, got '$shards'"
if [ -z "$bin" ]; then
  bin=$(command -v onnxfuzz || echo "$root/build/onnxfuzz")
fi
[ -x "$bin" ] || { echo "$prog: onnxfuzz binary not found: $bin" >&2; exit 4; }
base=${base%/}
[ -d "$base" ] || { echo "$prog: $base: no such directory" >&2; exit 4; }

if [ -n "$shards" ]; then
  for i in $(seq 0 $((shards - 1))); do
    if [ -f "$base/logs/shard-$i.rc" ]; then
      rc=$(cat "$base/logs/shard-$i.rc")
      case $rc in
        0) note="no new findings" ;;
        1) note="findings stored" ;;
        *) note="failed" ;;
      esac
      echo "shard $i: fuzz exit $rc ($note)"
    else
      echo "shard $i: no exit code (the task did not end normally: time limit, cancelled, killed)"
    fi
  done
fi
dirs=("$base"/shard-*/)
dirs=("${dirs[@]%/}")
if [ ${#dirs[@]} = 0 ]; then
  echo "$prog: no shard directory in $base: every shard failed before fuzzing (see $base/logs/)" >&2
  exit 4
fi
"$bin" merge "${dirs[@]}" --into "$base/merged" || exit 4
k=0
: > "$base/merged/instances.txt"
for s in "${dirs[@]}"; do
  for inst in "$s" "$s"/job-*; do
    [ -f "$inst/state.json" ] || continue
    rm -rf "$base/merged/job-$k"
    mkdir -p "$base/merged/job-$k"
    for f in state.json stats.json stats.csv findings.jsonl ngrams.json; do
      [ ! -f "$inst/$f" ] || cp "$inst/$f" "$base/merged/job-$k/"
    done
    echo "job-$k ${inst#"$base"/}" >> "$base/merged/instances.txt"
    k=$((k + 1))
  done
done
if [ "$k" -gt 0 ]; then
  "$bin" status "$base/merged" > "$base/status.txt" || exit 4
  cat "$base/status.txt"
fi
if compgen -G "$base/merged/cases/*/case.json" >/dev/null; then
  "$bin" triage "$base/merged" > "$base/triage.txt" || exit 4
else
  echo "no cases: the campaign found nothing" > "$base/triage.txt"
fi
cat "$base/triage.txt"
if [ "$plot" = 1 ] && [ "$k" -gt 0 ]; then
  "$bin" plot "$base/merged" || echo "$prog: plot failed (is gnuplot installed?)" >&2
fi
