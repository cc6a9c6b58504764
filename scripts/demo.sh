#!/usr/bin/env bash
# The main job on built-in defaults. Grows with the project: for now it
# prints the version; later it generates a phantom, segments and evaluates it.
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
"$BIN" version
