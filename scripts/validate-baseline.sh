#!/usr/bin/env bash
# Validate a model on a fresh phantom cohort it never saw: a new seed, every
# centre including the external one, normal and pathological ears, plus scans
# without an inner ear. Writes segmentations and the evaluation report to
# ${OUT:-validation-run}. ANATOMY=shifted draws the labyrinths from the tails
# of the adult population and beyond (the held-out shape test; set
# PATHOLOGICAL=0 for normal ears only).
set -euo pipefail
BIN=${1:-bin/otoseg}
MODEL=${MODEL:-}
OUT=${OUT:-validation-run}
SEED=${SEED:-2027}
CASES=${CASES:-30}
ANATOMY=${ANATOMY:-normal}
PATHOLOGICAL=${PATHOLOGICAL:-0.5}
"$BIN" phantom --out "$OUT/cohort" --cases "$CASES" --seed "$SEED" --pathological "$PATHOLOGICAL" --anatomy "$ANATOMY"
"$BIN" phantom --out "$OUT/other" --cases 3 --seed "$SEED" --body other
args=()
[ -n "$MODEL" ] && args=(--model "$MODEL")
"$BIN" segment "$OUT/cohort/images" -o "$OUT/pred" "${args[@]}"
# Scans of another body part must give "no inner ear" and no label map.
"$BIN" segment "$OUT/other/images" -o "$OUT/pred-other" "${args[@]}"
if ls "$OUT/pred-other/"*.nii.gz >/dev/null 2>&1; then
  echo "FAIL: a label map was written for a scan without an inner ear" >&2
  exit 1
fi
"$BIN" evaluate --manifest "$OUT/cohort/manifest.csv" --pred "$OUT/pred" --out "$OUT/report"
# Every ear in the field of view found, and no other: compare each
# segmentation's sidecar with the phantom's record of the ears in view.
python3 - "$OUT" <<'PY'
import csv, json, sys, os
out = sys.argv[1]
bad = 0
rows = list(csv.DictReader(open(os.path.join(out, "cohort", "manifest.csv"))))
for r in rows:
    want = sorted(e for e in r["ears"].split("+") if e in ("left", "right"))
    got = sorted(e["side"] for e in json.load(open(os.path.join(out, "pred", r["case_id"] + ".json")))["ears"])
    if got != want:
        bad += 1
        print(f"{r['case_id']} ({r['center']}, {r['pathology']}): ears found {got}, in view {want}")
print(f"ears: {len(rows) - bad}/{len(rows)} cases with exactly the ears in view")
sys.exit(1 if bad else 0)
PY
