#!/bin/sh
# The same nnU-Net network, otoseg vs PyTorch, on the same phantom
# temporal-bone CT: wall time, peak memory, and how far the label maps agree.
#
#   scripts/nnunet-side-by-side.sh [OTOSEG] [WORKDIR]
#
# The network is nnU-Net-sized (6 stages, 32-320 features, patch 96x160x160,
# random weights, see scripts/nnunet_torch.py); both sides run nnU-Net's
# pipeline without mirroring (--disable-tta) on 2 threads. PyTorch runs the
# predictor reimplemented in nnunet/testdata/make_fixtures.py (float32, CPU).
# On a shared machine compare the CPU seconds: wall time depends on the load.
set -eu
OTOSEG=${1:-bin/otoseg}
WORK=${2:-/tmp/nnunet-side-by-side}
PY=/usr/bin/python3
mkdir -p "$WORK"
[ -d "$WORK/ph" ] || "$OTOSEG" phantom --out "$WORK/ph" --cases 1 --seed 7 -q
IMG=$(ls "$WORK"/ph/images/*.nii.gz | head -1)
LAB="$WORK/ph/labels/$(basename "$IMG")"
R="$WORK/nnUNet_results/Dataset600_Bench/nnUNetTrainer__nnUNetPlans__3d_fullres"
[ -f "$R/fold_0/checkpoint_final.pth" ] || $PY scripts/nnunet_torch.py build "$R" --image "$IMG" --label "$LAB"
rm -rf "$WORK/model"
"$OTOSEG" model import-nnunet "$R" -o "$WORK/model"
grep -m1 'model name' /proc/cpuinfo
grep -m1 'cpu family' /proc/cpuinfo
grep -m1 '^model[[:space:]]' /proc/cpuinfo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
GOMAXPROCS=2 /usr/bin/time -f 'otoseg : %e s wall, %U s user + %S s sys CPU, %M KB peak RSS' \
	"$OTOSEG" segment "$IMG" -o "$WORK/otoseg.nii.gz" --model "$WORK/model" --disable-tta
OMP_NUM_THREADS=2 /usr/bin/time -f 'pytorch: %e s wall, %U s user + %S s sys CPU, %M KB peak RSS' \
	$PY scripts/nnunet_torch.py predict "$R" "$IMG" "$WORK/torch.nii.gz" --no-mirror --threads 2
$PY - "$WORK/otoseg.nii.gz" "$WORK/torch.nii.gz" <<'PYEOF'
import sys, nibabel as nib, numpy as np
a, b = (np.asarray(nib.load(p).dataobj) for p in sys.argv[1:3])
fa, fb = a > 0, b > 0
agree = ((a == b) & fa).sum()
print(f"foreground voxels otoseg {fa.sum()} pytorch {fb.sum()}; Dice of agreeing labels {2 * agree / max(fa.sum() + fb.sum(), 1):.5f}; voxels differing {(a != b).sum()} of {a.size}")
PYEOF
