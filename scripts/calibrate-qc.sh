#!/usr/bin/env bash
# Calibrate the per-ear QC score of otoseg segment on phantoms from hard
# scanners (scripts/qc-hard-sites.json: the training centre A, low dose,
# very low dose, smooth and very smooth kernels, 1.5 mm slices, a
# motion-like through-plane smear with a tilted head, metal streaks), then
# report it on a FRESH cohort from the same scanners (another seed): AUROC
# of the score for "labyrinth Dice < 0.85" and the shares flagged.
# Writes qc/calibration.json (embedded in the binary: rebuild after).
#   scripts/calibrate-qc.sh [BIN] ; OUT=dir CAL_CASES=24 FRESH_CASES=16
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${OUT:-qc-calibration}
CAL_CASES=${CAL_CASES:-24}
FRESH_CASES=${FRESH_CASES:-16}
SITES=scripts/qc-hard-sites.json
mkdir -p "$OUT"
for c in cal:7101:$CAL_CASES fresh:8202:$FRESH_CASES; do
  IFS=: read -r name seed cases <<< "$c"
  [ -f "$OUT/$name/manifest.csv" ] || "$BIN" phantom --out "$OUT/$name" --cases "$cases" --seed "$seed" --sites "$SITES" --pathological 0.3 -q
  [ -f "$OUT/$name-pred/.done" ] || { "$BIN" segment "$OUT/$name/images" -o "$OUT/$name-pred" && touch "$OUT/$name-pred/.done"; }
done
"$BIN" qc calibrate --manifest "$OUT/cal/manifest.csv" --pred "$OUT/cal-pred" -o qc/calibration.json \
  --source "scripts/calibrate-qc.sh: $CAL_CASES-case cohort from scripts/qc-hard-sites.json, seed 7101, segmented by the built-in baseline"
"$BIN" qc report --manifest "$OUT/fresh/manifest.csv" --pred "$OUT/fresh-pred" --model qc/calibration.json \
  -o "$OUT/fresh-report" --title "QC on a fresh hard-scanner cohort ($FRESH_CASES cases, seed 8202)"
grep -m1 'model name' /proc/cpuinfo
