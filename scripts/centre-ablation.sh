#!/usr/bin/env bash
# What costs the model Dice on the external centre E? Generate E's scanner
# and variants of it that each take one property from training centre B
# (kernel, slice thickness, noise, HU calibration, rotation, beam-hardening
# band, in-plane spacing), the same anatomy for all (same seed, normal ears),
# segment every variant and print its labyrinth Dice. The variant that
# recovers most names the property the model has not learnt to handle.
#   scripts/centre-ablation.sh [BIN] ; MODEL=dir CASES=4 SEED=77 OUT=dir
set -euo pipefail
BIN=${1:-bin/otoseg}
MODEL=${MODEL:-}
OUT=${OUT:-ablation-run}
SEED=${SEED:-77}
CASES=${CASES:-4}
args=()
[ -n "$MODEL" ] && args=(--model "$MODEL")
mkdir -p "$OUT"

# site NAME PSF_IN PSF_THROUGH SLICE NOISE NOISE_CORR GAIN OFFSET ROTATION BAR IN_PLANE
# E is: 0.4 0.55 1.0 45 0.6 1.04 25 7 90 0.48,0.5 (see otoseg phantom --print-centres)
site() {
  cat > "$OUT/$1.json" <<JSON
[{"name": "$1", "protocol": "centre E, ablation variant $1", "external": false,
  "fov": "bilateral", "extent_mm": [150, 100, 50], "in_plane_mm": [${11}], "slice_mm": [$4],
  "psf_sigma_mm": [$2, $3], "noise_hu": $5, "noise_corr_mm": $6, "gain": $7, "offset_hu": $8,
  "rotation_deg": $9, "shift_mm": 6, "bar_hu": ${10}, "metal_streak_hu": 1000}]
JSON
}
site E           0.4  0.55 1.0 45 0.6  1.04 25 7 90 0.48,0.5
site E-kernelB   0.3  0.45 1.0 45 0.6  1.04 25 7 90 0.48,0.5
site E-slice0.8  0.4  0.55 0.8 45 0.6  1.04 25 7 90 0.48,0.5
site E-noiseB    0.4  0.55 1.0 30 0.45 1.04 25 7 90 0.48,0.5
site E-calibrated 0.4 0.55 1.0 45 0.6  1    0  7 90 0.48,0.5
site E-rotation3 0.4  0.55 1.0 45 0.6  1.04 25 3 90 0.48,0.5
site E-band40    0.4  0.55 1.0 45 0.6  1.04 25 7 40 0.48,0.5
site E-inplane0.4 0.4 0.55 1.0 45 0.6  1.04 25 7 90 0.4

printf '%-18s %s\n' variant "labyrinth Dice per ear (mean of $((2 * CASES)) ears)"
for f in "$OUT"/*.json; do
  v=$(basename "$f" .json)
  d="$OUT/$v"
  "$BIN" phantom --out "$d/cohort" --cases "$CASES" --seed "$SEED" --pathological 0 --sites "$f" -q >/dev/null
  "$BIN" segment "$d/cohort/images" -o "$d/pred" "${args[@]}" >"$d/segment.log" 2>&1
  "$BIN" evaluate --manifest "$d/cohort/manifest.csv" --pred "$d/pred" --out "$d/report" >"$d/evaluate.log" 2>&1
  printf '%-18s %s\n' "$v" "$(grep -o 'mean [0-9.]*' "$d/evaluate.log" | head -1)"
done
