#!/usr/bin/env bash
# Calibrate the per-ear QC score of otoseg segment on phantoms from hard
# scanners (scripts/qc-hard-sites.json: the training centre A, low dose,
# very low dose, smooth and very smooth kernels, 1.5 mm slices, a
# motion-like through-plane smear with a tilted head, metal streaks), then
# report it on a FRESH cohort from the same scanners (another seed) and on a
# fresh cohort from harsher ones (scripts/qc-harsh-sites.json): AUROC
# of the score for "labyrinth Dice < 0.85" and the shares flagged.
# Writes qc/calibration.json (embedded in the binary: rebuild after).
#   scripts/calibrate-qc.sh [BIN] ; OUT=dir CAL_CASES=24 FRESH_CASES=16
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${OUT:-qc-calibration}
CAL_CASES=${CAL_CASES:-24}
FRESH_CASES=${FRESH_CASES:-16}
SITES=${SITES:-scripts/qc-hard-sites.json}
HARSH=${HARSH:-scripts/qc-harsh-sites.json}
mkdir -p "$OUT"
for c in cal:7101:$CAL_CASES:$SITES fresh:8202:$FRESH_CASES:$SITES harsh:9303:12:$HARSH; do
  IFS=: read -r name seed cases sites <<< "$c"
  [ -f "$OUT/$name/manifest.csv" ] || "$BIN" phantom -o "$OUT/$name" --cases "$cases" --seed "$seed" --sites "$sites" --pathological 0.3 -q
  [ -f "$OUT/$name-pred/.done" ] || { "$BIN" segment "$OUT/$name/images" -o "$OUT/$name-pred" && touch "$OUT/$name-pred/.done"; }
done
"$BIN" qc calibrate --manifest "$OUT/cal/manifest.csv" --pred "$OUT/cal-pred" -o qc/calibration.json \
  --source "scripts/calibrate-qc.sh: $CAL_CASES-case cohort from scripts/qc-hard-sites.json, seed 7101, segmented by the built-in baseline"
"$BIN" qc report --manifest "$OUT/fresh/manifest.csv" --pred "$OUT/fresh-pred" --model qc/calibration.json \
  -o "$OUT/fresh-report" --title "QC on a fresh hard-scanner cohort ($FRESH_CASES cases, seed 8202)"
"$BIN" qc report --manifest "$OUT/harsh/manifest.csv" --pred "$OUT/harsh-pred" --model qc/calibration.json \
  -o "$OUT/harsh-report" --title "QC on a fresh harsher-scanner cohort (12 cases, seed 9303)"
grep -m1 'model name' /proc/cpuinfo
