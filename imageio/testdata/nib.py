#!/usr/bin/python3
"""Reference side of otoseg's image I/O tests, run with Debian's python3-nibabel.

  nib.py load OUT.json FILE...   load each FILE with nibabel; write its affine,
                                 shape, dtype, axcodes to OUT.json and its voxels
                                 (scaled, as float64, x fastest) to FILE.f64
  nib.py make DIR OUT.json       write the reference NIfTI cases into DIR with
                                 nibabel, and describe them (as nibabel reads them
                                 back) in OUT.json
"""
import gzip
import json
import struct
import sys

import nibabel as nib
import numpy as np


def describe(path, volume=-1, note=""):
    img = nib.load(path)
    data = np.asanyarray(img.dataobj)
    if volume >= 0:
        data = data[..., volume]
    dump = path + ".f64"
    np.asarray(data, dtype="<f8").ravel(order="F").tofile(dump)
    return {
        "file": path,
        "shape": list(img.shape),
        "affine": img.affine.tolist(),
        "dtype": str(img.get_data_dtype()),
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "data": dump,
        "volume": volume,
        "note": note,
    }


def rot(ax, deg):
    ax = np.asarray(ax, float) / np.linalg.norm(ax)
    t = np.deg2rad(deg)
    k = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def affine(r, zooms, origin):
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(zooms)
    a[:3, 3] = origin
    return a


AFFINES = {
    "aniso": affine(np.eye(3), [0.3, 0.45, 1.25], [-40.2, 13.7, 88.1]),
    "flipped": affine(np.diag([-1, 1, -1]), [0.5, 0.5, 2.0], [60.0, -80.5, 31.0]),
    "oblique": affine(rot([1, 2, 3], 17), [0.4, 0.4, 0.8], [-12.3, 45.6, -78.9]),
    "oblique_flip": affine(rot([-2, 1, 0.5], 33) @ np.diag([1, -1, 1]), [0.25, 0.6, 1.1], [101.5, -7.25, 3.0]),
}

DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "float32", "float64"]
SHAPE = (7, 6, 5)


def sample(dtype, shape, rng):
    if dtype.startswith("float"):
        return (rng.standard_normal(shape) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -(2**24)), min(info.max, 2**24)
    a = rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    a.flat[0], a.flat[1] = lo, hi  # the extremes must survive
    return a


def patch_scaling(path, slope, inter):
    """Set scl_slope/scl_inter in an uncompressed NIfTI-1 file; nibabel's
    writer chooses its own scaling, so the header is patched after saving."""
    with open(path, "r+b") as f:
        f.seek(112)
        f.write(struct.pack("<ff", slope, inter))


def make(d, out):
    rng = np.random.default_rng(20261128)
    cases = []
    for an, a in AFFINES.items():
        for dt in DTYPES:
            arr = sample(dt, SHAPE, rng)
            for ext in (".nii", ".nii.gz"):
                p = f"{d}/{an}_{dt}{ext}"
                nib.Nifti1Image(arr, a).to_filename(p)
                cases.append(describe(p, note=f"nifti1 {dt} {an}"))
    arr = sample("int16", SHAPE, rng)
    a = AFFINES["oblique"]
    # qform only
    img = nib.Nifti1Image(arr, None)
    img.set_qform(a, code=1)
    img.set_sform(None, code=0)
    img.to_filename(f"{d}/qform_only.nii.gz")
    cases.append(describe(f"{d}/qform_only.nii.gz", note="qform only"))
    # qform only, left-handed (qfac = -1)
    img = nib.Nifti1Image(arr, None)
    img.set_qform(AFFINES["oblique_flip"], code=1)
    img.set_sform(None, code=0)
    img.to_filename(f"{d}/qform_only_flip.nii")
    cases.append(describe(f"{d}/qform_only_flip.nii", note="qform only, qfac -1"))
    # float data stored as int16 with nibabel's own slope/intercept
    img = nib.Nifti1Image(sample("float64", SHAPE, rng) / 7.0, AFFINES["flipped"])
    img.set_data_dtype(np.int16)
    img.to_filename(f"{d}/autoscaled.nii.gz")
    cases.append(describe(f"{d}/autoscaled.nii.gz", note="nibabel-chosen scaling"))
    # sform (aligned, 2) beats a different qform
    img = nib.Nifti1Image(arr, None)
    img.set_qform(AFFINES["aniso"], code=1)
    img.set_sform(AFFINES["flipped"], code=2)
    img.to_filename(f"{d}/sform_wins.nii")
    cases.append(describe(f"{d}/sform_wins.nii", note="sform code 2 over qform"))
    # neither: pixdim-only base affine
    img = nib.Nifti1Image(arr, AFFINES["aniso"])
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    img.header.set_zooms((0.7, 0.8, 1.9))
    img.to_filename(f"{d}/no_codes.nii")
    cases.append(describe(f"{d}/no_codes.nii", note="base affine"))
    # integer and fractional scaling
    for name, slope, inter in (("scaled_int", 2.0, -1024.0), ("scaled_frac", 0.5, 0.25)):
        p = f"{d}/{name}.nii"
        nib.Nifti1Image(arr, a).to_filename(p)
        patch_scaling(p, slope, inter)
        cases.append(describe(p, note=f"scl_slope {slope} scl_inter {inter}"))
        with open(p, "rb") as f, gzip.open(p + ".gz", "wb") as g:
            g.write(f.read())
        cases.append(describe(p + ".gz", note=f"gz scl_slope {slope} scl_inter {inter}"))
    # NIfTI-2
    for dt in ("int16", "float32", "uint8"):
        p = f"{d}/nifti2_{dt}.nii.gz"
        nib.Nifti2Image(sample(dt, SHAPE, rng), AFFINES["oblique_flip"]).to_filename(p)
        cases.append(describe(p, note=f"nifti2 {dt}"))
    # big-endian
    hdr = nib.Nifti1Header(endianness=">")
    hdr.set_data_dtype(">i2")
    p = f"{d}/bigendian.nii"
    nib.Nifti1Image(sample("int16", SHAPE, rng), AFFINES["oblique"], header=hdr).to_filename(p)
    with open(p, "rb") as f:
        assert f.read(4) == b"\x00\x00\x01\x5c", "nibabel did not write big-endian"
    cases.append(describe(p, note="big-endian"))
    # 4-D: volume 2 of 4
    p = f"{d}/four_d.nii.gz"
    nib.Nifti1Image(sample("int16", SHAPE + (4,), rng), AFFINES["aniso"]).to_filename(p)
    cases.append(describe(p, volume=2, note="4-D, volume 2"))
    # 2-D
    p = f"{d}/two_d.nii"
    nib.Nifti1Image(sample("float32", SHAPE[:2], rng), AFFINES["flipped"]).to_filename(p)
    cases.append(describe(p, note="2-D"))
    with open(out, "w") as f:
        json.dump(cases, f)


def main():
    if sys.argv[1] == "load":
        with open(sys.argv[2], "w") as f:
            json.dump([describe(p) for p in sys.argv[3:]], f)
    elif sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
