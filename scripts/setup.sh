#!/usr/bin/env bash
# Installs everything onnxfuzz needs (Debian packages, pinned npm packages) and builds build/.
# Idempotent: a second run only checks and re-runs the incremental build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

packages=(cmake ninja-build g++ pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler libeigen3-dev libboost-dev
  libfmt-dev libspdlog-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  libonnx-testdata
  gnuplot-nox  # onnxfuzz plot (Debian's gnuplot without X)
  libopencv-dnn-dev)  # the opencv execution's worker (OpenCV DNN 4.6 on Debian 12)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# ONNX Runtime CPU ships inside the npm package. ONNXRUNTIME_NODE_INSTALL=skip stops its
# postinstall from fetching GPU provider files (it does so whenever it sees a CUDA toolkit),
# which fails on machines without outside network access.
# onnxruntime-web (the ort-web execution) is pinned alongside; either one missing or at another
# version re-runs npm ci.
stale=()
for package in onnxruntime-node onnxruntime-web; do
  pinned=$(node -p "require('./package-lock.json').packages['node_modules/$package'].version")
  installed=$(node -p "try { require('./node_modules/$package/package.json').version } catch (e) { '' }")
  [ "$pinned" = "$installed" ] || stale+=("$package@$pinned")
done
if ((${#stale[@]})); then
  echo "[setup] installing ${stale[*]} (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$(nproc)"
echo "[setup] ready: $root/build/onnxfuzz"
