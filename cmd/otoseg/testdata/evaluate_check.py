#!/usr/bin/python3
"""End-to-end check of `otoseg evaluate` with files written by nibabel.

Usage: /usr/bin/python3 evaluate_check.py DIR

Writes into DIR a manifest, reference and predicted label maps (NIfTI, with
anisotropic spacing and RAS affines that flip axes, so world coordinates
matter), and expected.csv: the rows cases.csv must hold, computed here with
numpy/scipy from the definitions in docs/evaluate.md (ears split at the
middle of the largest >= 20 mm gap of reference labyrinth voxels along LPS x,
else one ear on the side of the centroid; 6-neighbour surfaces; pooled
distances; HD95 by numpy.percentile; NSD at 1 mm).
"""
import csv
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

rng = np.random.default_rng(11)
out = sys.argv[1]
os.makedirs(os.path.join(out, "pred"), exist_ok=True)


def blob(shape, centre, radii, spacing):
    g = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    return sum(((x - c) / r) ** 2 for x, c, r in zip(g, centre, radii)) <= 1


def paint(shape, spacing, centres, jitter):
    lab = np.zeros(shape, np.uint8)
    for c in centres:
        for l, (off, rad) in enumerate([((0, 0, 0), (2.5, 2.0, 2.0)), ((3.5, 1, 0.5), (1.8, 2.2, 1.6)), ((6, 2.5, 2), (1.2, 1.8, 2.8))], start=1):
            cc = [a + b + jitter * rng.normal() for a, b in zip(c, off)]
            m = blob(shape, cc, [r * (1 + 0.1 * jitter * rng.normal()) for r in rad], spacing)
            lab[m & (lab == 0)] = l
    return lab


def lps_x(aff, shape):
    i, j, k = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return -(aff[0, 0] * i + aff[0, 1] * j + aff[0, 2] * k + aff[0, 3])


def metrics(a, b, sp):
    na, nb, inter = int(a.sum()), int(b.sum()), int((a & b).sum())
    vox = float(np.prod(sp))
    r = {"volume_ref_mm3": na * vox, "volume_pred_mm3": nb * vox}
    if na == 0 and nb == 0:
        r.update(status="both_empty", dice=1, iou=1, sensitivity=1, precision=1, hd_mm=0, hd95_mm=0, assd_mm=0, nsd=1)
        return r
    if na == 0 or nb == 0:
        r.update(status="ref_empty" if na == 0 else "pred_empty", dice=0, iou=0, nsd=0,
                 sensitivity="NA" if na == 0 else 0, precision="NA" if nb == 0 else 0,
                 hd_mm="NA", hd95_mm="NA", assd_mm="NA")
        return r
    st = ndimage.generate_binary_structure(3, 1)
    sa = a & ~ndimage.binary_erosion(a, st, border_value=0)
    sb = b & ~ndimage.binary_erosion(b, st, border_value=0)
    d = np.concatenate([ndimage.distance_transform_edt(~sb, sampling=sp)[sa],
                        ndimage.distance_transform_edt(~sa, sampling=sp)[sb]])
    r.update(status="ok", dice=2 * inter / (na + nb), iou=inter / (na + nb - inter), sensitivity=inter / na,
             precision=inter / nb, hd_mm=d.max(), hd95_mm=np.percentile(d, 95), assd_mm=d.mean(),
             nsd=(d <= 1 + 1e-6).mean())
    return r


cases = [
    # id, shape, spacing, RAS affine diagonal signs, labyrinth centres (mm, index space), jitter
    ("head1", (150, 40, 36), (0.6, 0.45, 0.5), (-1, -1, 1), [(12, 8, 8), (70, 8, 8)], 0.5),
    ("head2", (140, 44, 30), (0.7, 0.4, 0.6), (1, -1, 1), [(10, 9, 7), (78, 9, 7)], 0.9),
    ("crop3", (40, 36, 32), (0.3, 0.35, 0.4), (-1, -1, 1), [(4, 5, 5)], 0.4),
]
rows = []
man = [["case_id", "image", "label", "center", "split", "subgroup", "pathology", "spacing_mm", "manual_seconds"]]
for cid, shape, sp, signs, centres, jitter in cases:
    ref = paint(shape, sp, centres, 0)
    pred = paint(shape, sp, centres, jitter)
    if cid == "head2":
        pred[pred == 2] = 0  # a missed vestibule in both ears
    aff = np.diag([s * v for s, v in zip(signs, sp)] + [1.0])
    aff[:3, 3] = [-s * v * (n - 1) / 2 for s, v, n in zip(signs, sp, shape)]  # centred
    if cid == "crop3":
        aff[0, 3] -= 40  # RAS x = -40-ish: LPS x > 0, the patient's left
    nib.save(nib.Nifti1Image(ref, aff), os.path.join(out, cid + "_ref.nii.gz"))
    nib.save(nib.Nifti1Image(pred, aff), os.path.join(out, "pred", cid + ".nii.gz"))
    man.append([cid, "img.nii.gz", cid + "_ref.nii.gz", "A", "train", "normal", "", "", "600"])
    x = lps_x(aff, shape)
    xs = np.sort(x[ref > 0])
    gaps = np.diff(xs)
    ears = [("both", np.ones(shape, bool))]
    if gaps.max() >= 20:
        at = int(np.argmax(gaps))
        plane = (xs[at] + xs[at + 1]) / 2
        ears += [("left", x > plane), ("right", x <= plane)]
    else:
        ears += [("left" if xs.mean() > 0 else "right", np.ones(shape, bool))]
    for ear, sel in ears:
        for name, lab in (("cochlea", 1), ("vestibule", 2), ("canals", 3), ("labyrinth", 0)):
            a = ((ref > 0) if lab == 0 else (ref == lab)) & sel
            b = ((pred > 0) if lab == 0 else (pred == lab)) & sel
            r = metrics(a, b, sp)
            r.update(case_id=cid, ear=ear, structure=name)
            rows.append(r)
with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
    csv.writer(f).writerows(man)
cols = ["case_id", "ear", "structure", "status", "dice", "iou", "sensitivity", "precision", "hd_mm", "hd95_mm",
        "assd_mm", "nsd", "volume_ref_mm3", "volume_pred_mm3"]
with open(os.path.join(out, "expected.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: (repr(float(v)) if not isinstance(v, str) else v) for k, v in r.items()})
