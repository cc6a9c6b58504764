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
# Stage 2: continue the segmenter with a lower learning rate (and the
# low-resolution simulation augmentation, added after stage 1 was run),
# keeping the stage-1 plan and localiser.
"$BIN" train --manifest "$COHORT/manifest.csv" --out "$OUT/model2" --init "$OUT/model" \
  --locator-epochs 0 --epochs 24 --steps 60 --optimizer adamw --lr 1e-3 --seed 2
# Each run ends by calibrating on the validation cases: the foreground
# threshold and the localiser's minimum score are written into plans.json
# (see the MODEL_CARD's "calibration" line). Ship $OUT/model2.
