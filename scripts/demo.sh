#!/usr/bin/env bash
# The main job on built-in defaults: generate phantom CT scans, segment them
# with the model built into otoseg, score against the exact ground truth,
# print Dice and time, and write pictures (demo-out/*.png).
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${DEMO_OUT:-demo-out}
"$BIN" demo --out "$OUT"
