#!/usr/bin/env bash
# Calibrate the per-ear QC score of otoseg segment on phantoms from hard
# scanners, then report it on FRESH cohorts (other seeds) from the same
# scanners. Two scanner sets: scripts/qc-hard-sites.json (the training
# centre A, low and very low dose, smooth and very smooth kernels, 1.5 mm
# slices, a motion-like smear with a tilted head, metal streaks) and
# scripts/qc-harsh-sites.json (smoother kernels, 2 mm slices, very noisy):
#   calibration: 40 hard-site cases (seed 7101) + 20 harsh-site (seed 7202)
#   fresh:       24 hard-site cases (seed 8202) + 16 harsh-site (seed 9303)
# The report gives the AUROC of the score for "labyrinth Dice < 0.85" and
# the shares of bad and good ears flagged, per fresh cohort and pooled.
# Writes qc/calibration.json (embedded in the binary: rebuild after, and
# note that the cohorts are segmented with the calibration in the tree:
# the signals do not depend on it, only the sidecars' verdicts do).
#   scripts/calibrate-qc.sh [BIN] ; OUT=dir
set -euo pipefail
BIN=${1:-bin/otoseg}
OUT=${OUT:-qc-calibration}
HARD=scripts/qc-hard-sites.json
HARSH=scripts/qc-harsh-sites.json
mkdir -p "$OUT"
for c in cal:7101:40:$HARD calh:7202:20:$HARSH fresh:8202:24:$HARD harsh:9303:16:$HARSH; do
  IFS=: read -r name seed cases sites <<< "$c"
  [ -f "$OUT/$name/manifest.csv" ] || "$BIN" phantom -o "$OUT/$name" --cases "$cases" --seed "$seed" --sites "$sites" --pathological 0.3 -q
  [ -f "$OUT/$name-pred/.done" ] || { "$BIN" segment "$OUT/$name/images" -o "$OUT/$name-pred" > "$OUT/$name-segment.log" && touch "$OUT/$name-pred/.done"; }
done
"$BIN" qc calibrate --manifest "$OUT/cal/manifest.csv" --pred "$OUT/cal-pred" \
  --manifest "$OUT/calh/manifest.csv" --pred "$OUT/calh-pred" -o qc/calibration.json \
  --source "scripts/calibrate-qc.sh: 40 cases from scripts/qc-hard-sites.json (seed 7101) and 20 from scripts/qc-harsh-sites.json (seed 7202), segmented by the built-in baseline"
"$BIN" qc report --manifest "$OUT/fresh/manifest.csv" --pred "$OUT/fresh-pred" --model qc/calibration.json \
  -o "$OUT/fresh-report" --title "QC on a fresh hard-scanner cohort (24 cases, seed 8202)"
"$BIN" qc report --manifest "$OUT/harsh/manifest.csv" --pred "$OUT/harsh-pred" --model qc/calibration.json \
  -o "$OUT/harsh-report" --title "QC on a fresh harsher-scanner cohort (16 cases, seed 9303)"
"$BIN" qc report --manifest "$OUT/fresh/manifest.csv" --pred "$OUT/fresh-pred" \
  --manifest "$OUT/harsh/manifest.csv" --pred "$OUT/harsh-pred" --model qc/calibration.json \
  -o "$OUT/pooled-report" --title "QC on both fresh cohorts (40 cases)"
grep -m1 'model name' /proc/cpuinfo
