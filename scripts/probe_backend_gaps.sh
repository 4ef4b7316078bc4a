#!/usr/bin/env bash
# Probes ONNX Runtime (ort-noopt) for (op, dtype) pairs it has no kernel for, and prints them as
# rows for kBackendGaps in oracles/backend_gaps.cpp.
#
# For every generator op and every dtype of the table, it generates single-op models
# (`onnxfuzz gen --ops OP --dtypes DT --max-nodes 1`) and runs each through
# `onnxfuzz run --executions ort-noopt`; a run that fails with ORT's "Could not find an
# implementation for X(N) node" message is a gap, reported with X (which differs from OP when
# ORT expands a function op such as Clip or Softmax). Pairs the generator cannot draw are
# skipped, and so are models whose graph inputs or outputs ORT cannot carry (bfloat16):
# those pairs need models that cast around the op, checked by hand.
#
# Usage: scripts/probe_backend_gaps.sh [ONNXFUZZ_BINARY] [MODELS_PER_PAIR]
# Rows go to stdout; progress and skipped pairs to stderr. Review the rows before pasting them:
# every row must be one the backend refuses on a model that passes the ONNX checker.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
onnxfuzz=${1:-$root/build/onnxfuzz}
per_pair=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The generator's op list, from its own error message for an unknown op.
ops=$({ "$onnxfuzz" gen --ops NoSuchOp --out "$work/x" 2>&1 || true; } | sed -n 's/.*known ops: \(.*\))$/\1/p' |
  tr -d ' ' | tr ',' ' ')
# The dtype table's names, from the error message for an unknown dtype.
dtypes=$({ "$onnxfuzz" gen --dtypes nosuch --out "$work/x" 2>&1 || true; } |
  sed -n 's/.*known dtypes: \(.*\)$/\1/p' | tr ',' ' ')
[ -n "$ops" ] && [ -n "$dtypes" ] || { echo "cannot read op or dtype list from $onnxfuzz" >&2; exit 4; }
version=$(node -p "require('$root/node_modules/onnxruntime-node/package.json').version")

# Table name -> DType enumerator: float32 -> kFloat, float64 -> kDouble, uint16 -> kUint16.
enumerator() {
  case $1 in
    float32) echo kFloat ;;
    float64) echo kDouble ;;
    *) echo "k$(tr '[:lower:]' '[:upper:]' <<<"${1:0:1}")${1:1}" ;;
  esac
}

echo "// onnxruntime-node $version, probed by scripts/probe_backend_gaps.sh"
for op in $ops; do
  for dtype in $dtypes; do
    dir="$work/$op-$dtype"
    if ! "$onnxfuzz" gen --ops "$op" --dtypes "$dtype" --max-nodes 1 --count "$per_pair" \
      --seed 1 --out "$dir" >/dev/null 2>&1; then
      echo "skip $op $dtype: the generator cannot draw it" >&2
      continue
    fi
    reported=""
    for model in "$dir"/*.onnx; do
      out=$("$onnxfuzz" run "$model" --executions ort-noopt 2>&1 || true)
      if grep -q "^  ort-noopt  unsupported" <<<"$out"; then
        echo "skip $op $dtype: $(grep -m1 'unsupported dtype' <<<"$out" | sed 's/^ *//')" >&2
        break
      fi
      reported=$(sed -n 's/.*Could not find an implementation for \([A-Za-z0-9_]*\)(.*/\1/p' \
        <<<"$out" | head -n1)
      [ -n "$reported" ] && break
    done
    if [ -n "$reported" ]; then
      echo "    {\"ort\", \"$op\", DType::$(enumerator "$dtype"), \"$reported\", kSeen},"
    fi
  done
  echo "probed $op" >&2
done
