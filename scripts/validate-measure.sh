#!/usr/bin/env bash
# Accuracy of otoseg measure against phantom ground truth (issue 16): a fresh
# 30-case cohort (all five centres, half the cases pathological), measured on
# its reference labels and on the built-in model's segmentations; tables of
# mean absolute error, bias and the share within the targets (A 0.3 mm,
# turns 0.2, CDL 5%) for normal and pathological ears.
#   scripts/validate-measure.sh [BIN] ; OUT=dir SEED=1616 CASES=30
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${OUT:-measure-validation}
SEED=${SEED:-1616}
CASES=${CASES:-30}
mkdir -p "$OUT"
[ -f "$OUT/cohort/manifest.csv" ] || "$BIN" phantom --out "$OUT/cohort" --cases "$CASES" --seed "$SEED" --pathological 0.5 -q
[ -f "$OUT/pred/.done" ] || { "$BIN" segment "$OUT/cohort/images" -o "$OUT/pred" && touch "$OUT/pred/.done"; }
"$BIN" measure validate --manifest "$OUT/cohort/manifest.csv" -o "$OUT/reference" \
  --title "reference labels, $CASES-case cohort seed $SEED"
"$BIN" measure validate --manifest "$OUT/cohort/manifest.csv" --pred "$OUT/pred" -o "$OUT/model" \
  --title "built-in model's segmentations, $CASES-case cohort seed $SEED"
grep -m1 'model name' /proc/cpuinfo
