#!/usr/bin/env bash
# Runs the full test suite (sets up first; setup is idempotent and fast when already done).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root/build"
ctest --output-on-failure -j 2 "$@"
