#!/usr/bin/env bash
# Reproduce otoseg's built-in baseline model from scratch: generate the
# phantom training cohort (four training centres, 40% pathological), then
# train the localiser and the segmenter with the recipe recorded in
# models/baseline/MODEL_CARD.md. Writes to ${OUT:-baseline-run}; copy the
# model files into models/baseline/ to ship them.
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${OUT:-baseline-run}
COHORT=${COHORT:-$OUT/cohort}
"$BIN" phantom --out "$COHORT" --cases 48 --seed 101 --centers A,B,C,D --pathological 0.4
"$BIN" train --manifest "$COHORT/manifest.csv" --out "$OUT/model" \
  --features 8,16,32,64 --epochs 40 --steps 60 \
  --locator-features 8,16,32,64 --locator-epochs 12 --locator-steps 50 \
  --negatives 6 --optimizer adamw --seed 1
