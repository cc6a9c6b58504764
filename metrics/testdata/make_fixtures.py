#!/usr/bin/python3
"""Independent expected values for otoseg's metrics package.

Usage: /usr/bin/python3 metrics/testdata/make_fixtures.py OUT.json

Builds binary mask pairs (anisotropic spacings, empty, one-voxel, disjoint,
identical, border-touching, irregular) and one two-ear label map, then
computes the expected metrics with tools that share no code with otoseg:

* overlap and volumes: numpy counts;
* Dice, sensitivity and boundary Hausdorff: plastimatch (`plastimatch dice
  --all ref.nii.gz pred.nii.gz`, Debian package plastimatch);
* surface distances: scipy.ndimage. Surface voxels are mask voxels with a
  6-neighbour outside the mask (binary_erosion with the 6-connected
  structure, border_value=0); directed distances come from
  distance_transform_edt(~other_surface, sampling=spacing) read at the
  surface voxels. HD = max of both directed sets, HD95 =
  numpy.percentile(concatenated sets, 95), ASSD = mean of the concatenated
  sets, NSD = share of the concatenated set <= tolerance;
* stray pieces: scipy.ndimage. The pieces are label(pred, 26-connected
  structure); a piece meeting binary_dilation(ref, 26-connected structure)
  (overlapping or touching) is 0 mm away, any other the minimum of
  distance_transform_edt(~ref, sampling=spacing) over its voxels. stray_mm
  is the largest, stray_pieces / stray_voxels count the pieces > 3 mm.

Masks are stored run-length encoded over the flat x-fastest index
(i + nx*(j + ny*k)), with dims, spacing, origin and direction (LPS).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np
from scipy import ndimage

TOL = 1.0  # NSD tolerance, mm
rng = np.random.default_rng(7)


def flat(a):
    # numpy arrays here are indexed [i, j, k]; x-fastest order is Fortran.
    return a.reshape(-1, order="F")


def rle(a):
    f = flat(a).astype(np.int8)
    d = np.diff(np.concatenate([[0], f, [0]]))
    starts, ends = np.where(d == 1)[0], np.where(d == -1)[0]
    return [[int(s), int(e - s)] for s, e in zip(starts, ends)]


def grid(dims, spacing):
    i, j, k = np.meshgrid(*[np.arange(n) * s for n, s in zip(dims, spacing)], indexing="ij")
    return i, j, k


def ellipsoid(dims, spacing, centre_mm, radii_mm):
    x, y, z = grid(dims, spacing)
    return ((x - centre_mm[0]) / radii_mm[0]) ** 2 + ((y - centre_mm[1]) / radii_mm[1]) ** 2 + \
        ((z - centre_mm[2]) / radii_mm[2]) ** 2 <= 1


def blobs(dims, sigma, thr, noise=None):
    """Irregular shapes: smoothed Gaussian noise above thr. With noise, the
    second mask thresholds the same field plus a smaller perturbation."""
    n = ndimage.gaussian_filter(rng.standard_normal(dims), sigma)
    a = n > thr
    if noise is None:
        return a
    m = n + noise * ndimage.gaussian_filter(rng.standard_normal(dims), sigma)
    return a, m > thr


def surface_distances(a, b, spacing):
    st = ndimage.generate_binary_structure(3, 1)
    sa = a & ~ndimage.binary_erosion(a, structure=st, border_value=0)
    sb = b & ~ndimage.binary_erosion(b, structure=st, border_value=0)
    dab = ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]
    dba = ndimage.distance_transform_edt(~sa, sampling=spacing)[sb]
    return dab, dba, int(sa.sum()), int(sb.sum())


STRAY_MM = 3.0  # metrics.StrayThresholdMM


def stray(a, b, spacing):
    st26 = ndimage.generate_binary_structure(3, 3)
    lab, n = ndimage.label(b, structure=st26)
    near = ndimage.binary_dilation(a, structure=st26)
    dt = ndimage.distance_transform_edt(~a, sampling=spacing)
    far, pieces, voxels = 0.0, 0, 0
    for l in range(1, n + 1):
        c = lab == l
        d = 0.0 if (c & near).any() else float(dt[c].min())
        far = max(far, d)
        if d > STRAY_MM + 1e-6:
            pieces += 1
            voxels += int(c.sum())
    return {"stray_mm": far, "stray_pieces": pieces, "stray_voxels": voxels}


def scipy_metrics(a, b, spacing):
    a, b = a.astype(bool), b.astype(bool)
    na, nb, inter = int(a.sum()), int(b.sum()), int((a & b).sum())
    vox = float(np.prod(spacing))
    out = {"ref_voxels": na, "pred_voxels": nb, "intersection": inter,
           "volume_ref": na * vox, "volume_pred": nb * vox}
    if na and nb:
        out.update(dice=2 * inter / (na + nb), iou=inter / (na + nb - inter),
                   sensitivity=inter / na, precision=inter / nb)
        dab, dba, ssa, ssb = surface_distances(a, b, spacing)
        d = np.concatenate([dab, dba])
        # The classic set Hausdorff distance (every voxel to the nearest voxel
        # of the other set), which plastimatch reports; it equals the
        # surface HD unless a surface voxel lies deep inside the other mask.
        set_hd = max(ndimage.distance_transform_edt(~b, sampling=spacing)[a].max(),
                     ndimage.distance_transform_edt(~a, sampling=spacing)[b].max())
        out.update(set_hd=float(set_hd), hd=float(d.max()), hd95=float(np.percentile(d, 95)), assd=float(d.mean()),
                   nsd=float((d <= TOL + 1e-6).sum() / d.size), ref_surface=ssa, pred_surface=ssb)
        out.update(stray(a, b, spacing))
    return out


def plastimatch(a, b, spacing, tmp):
    # Padded with background: plastimatch's distance maps are wrong next to
    # the image border (a corner voxel of irregular_blobs gets 4.44 mm
    # instead of 5.60 mm); padding changes no metric, as the outside of the
    # image is background by definition.
    a, b = np.pad(a, 5), np.pad(b, 5)
    aff = np.diag(list(spacing) + [1.0])
    pa, pb = os.path.join(tmp, "ref.nii.gz"), os.path.join(tmp, "pred.nii.gz")
    nib.save(nib.Nifti1Image(a.astype(np.uint8), aff), pa)
    nib.save(nib.Nifti1Image(b.astype(np.uint8), aff), pb)
    txt = subprocess.run(["plastimatch", "dice", "--all", pa, pb], check=True,
                         capture_output=True, text=True).stdout

    def grab(pat):
        m = re.search(pat, txt)
        return float(m.group(1)) if m else None
    return {"dice": grab(r"DICE:\s*([-\d.eE+]+)"), "sensitivity": grab(r"SE:\s*([-\d.eE+]+)"),
            "hd_boundary": grab(r"Hausdorff distance \(boundary\) = ([-\d.eE+]+)"),
            "hd": grab(r"\nHausdorff distance = ([-\d.eE+]+)")}


def binary_cases():
    c = []
    d, s = (40, 36, 30), (0.4, 0.5, 0.8)
    c.append(("spheres_aniso", s, ellipsoid(d, s, (8, 9, 12), (4, 4, 4)), ellipsoid(d, s, (8.9, 8.5, 12.8), (3.6, 4.2, 3.5))))
    d, s = (48, 40, 16), (0.3, 0.3, 1.0)
    ref = ellipsoid(d, s, (7, 6, 8), (4, 3, 5))
    pred = np.zeros(d, bool)
    pred[14:36, 12:30, 4:12] = True
    c.append(("ellipsoid_vs_box", s, ref, pred))
    d, s = (30, 30, 30), (0.5, 0.5, 0.5)
    e = ellipsoid(d, s, (7, 7, 7), (4, 3, 2))
    c.append(("identical", s, e, e.copy()))
    a, b = np.zeros(d, bool), np.zeros(d, bool)
    a[2:6, 2:6, 2:6] = True
    b[20:27, 18:25, 21:28] = True
    c.append(("disjoint", s, a, b))
    d, s = (20, 22, 18), (0.35, 0.6, 0.9)
    one = np.zeros(d, bool)
    one[10, 11, 9] = True
    blob = np.zeros(d, bool)
    blob[9:13, 10:13, 8:11] = True
    c.append(("one_voxel_vs_blob", s, one, blob))
    c.append(("one_voxel_identical", s, one, one.copy()))
    d, s = (24, 20, 16), (0.5, 0.4, 0.7)
    a = np.zeros(d, bool)
    a[0:10, 0:12, 0:16] = True
    b = np.zeros(d, bool)
    b[0:12, 2:12, 3:16] = True
    c.append(("touching_border", s, a, b))
    d, s = (44, 38, 30), (0.25, 0.6, 0.45)
    c.append(("irregular_blobs", s, *blobs(d, 3, 0.05, noise=0.4)))
    c.append(("uncorrelated_blobs", s, blobs(d, 3, 0.05), blobs(d, 3, 0.06)))
    d, s = (16, 16, 16), (0.5, 0.5, 0.5)
    z = np.zeros(d, bool)
    c.append(("both_empty", s, z, z.copy()))
    c.append(("pred_empty", s, e[:16, :16, :16], z.copy()))
    c.append(("ref_empty", s, z.copy(), e[:16, :16, :16]))
    return c


def two_ear_case():
    """A head-like label map: two ears 60 mm apart along LPS x with labels
    1..3, the i axis pointing to the patient's right (LPS -x), so that the
    side must come from world coordinates, not from the index."""
    dims, s = (90, 30, 24), (0.8, 0.6, 0.7)
    direction = np.array([[-1.0, 0, 0], [0, 1, 0], [0, 0, 1]])  # columns: LPS of i, j, k
    origin = np.array([36.0, -10.0, 5.0])
    ref = np.zeros(dims, np.uint8)
    pred = np.zeros(dims, np.uint8)
    for ci, shift in ((12, 0.0), (75, 0.6)):
        base_r = (ci * s[0], 9.0, 8.0)
        base_p = (ci * s[0] + shift, 9.3, 8.4)
        for lab, (off, rad) in enumerate([((0, 0, 0), (3, 2.5, 2.5)), ((4.0, 1, 1), (2.2, 2.5, 2)), ((6.5, 3, 3), (1.6, 2, 3.5))], start=1):
            mr = ellipsoid(dims, s, tuple(b + o for b, o in zip(base_r, off)), rad)
            mp = ellipsoid(dims, s, tuple(b + o for b, o in zip(base_p, off)), tuple(r * 0.95 for r in rad))
            ref[mr & (ref == 0)] = lab
            pred[mp & (pred == 0)] = lab
    pred[40:42, 20:22, 10:12] = 1  # a false positive in the middle, on the right of the plane
    # Expected split, computed here independently: world x of each voxel.
    ii, jj, kk = np.meshgrid(*[np.arange(n) for n in dims], indexing="ij")
    wx = origin[0] + direction[0, 0] * s[0] * ii + direction[0, 1] * s[1] * jj + direction[0, 2] * s[2] * kk
    xs = np.sort(wx[ref > 0])
    g = np.diff(xs)
    at = int(np.argmax(g))
    plane = (xs[at] + xs[at + 1]) / 2
    rows = []
    for ear, sel in (("both", np.ones(dims, bool)), ("left", wx > plane), ("right", wx <= plane)):
        for name, lab in (("cochlea", 1), ("vestibule", 2), ("canals", 3), ("labyrinth", 0)):
            r = (ref > 0) if lab == 0 else (ref == lab)
            p = (pred > 0) if lab == 0 else (pred == lab)
            m = scipy_metrics(r & sel, p & sel, s)
            m.update(ear=ear, structure=name)
            rows.append(m)
    return {"dims": list(dims), "spacing": list(s), "origin": origin.tolist(), "direction": direction.tolist(),
            "ref_runs": {str(l): rle(ref == l) for l in (1, 2, 3)},
            "pred_runs": {str(l): rle(pred == l) for l in (1, 2, 3)},
            "plane_x": float(plane), "rows": rows}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUT.json")
    out = {"tolerance_mm": TOL, "binary": [], "labelmap": two_ear_case()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, s, a, b in binary_cases():
            case = {"name": name, "dims": list(a.shape), "spacing": list(s),
                    "ref_runs": rle(a), "pred_runs": rle(b), "scipy": scipy_metrics(a, b, s)}
            if a.any() and b.any():
                case["plastimatch"] = plastimatch(a, b, s, tmp)
            out["binary"].append(case)
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"), sort_keys=True)
        f.write("\n")


main()
