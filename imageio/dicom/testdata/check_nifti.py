#!/usr/bin/python3
"""Check a NIfTI written from a DICOM series against pydicom, as an outside checker would.

usage: check_nifti.py DICOM_DIR SERIES_UID OUT.nii.gz [DICOM_DIR SERIES_UID OUT.nii.gz ...]

Reads the series with pydicom (sorted along the slice normal, HU from
RescaleSlope/Intercept), builds the RAS affine NIfTI should carry
(LPS -> RAS flips x and y) and compares it and the voxels with what nibabel
reads from OUT.nii.gz. Prints "ok" once all match, or exits non-zero with
the first difference.
"""
import os
import sys

import nibabel as nib
import numpy as np
import pydicom


def check(folder, series, out):
    slices = []
    for dirpath, _, names in os.walk(folder):
        for n in names:
            try:
                ds = pydicom.dcmread(os.path.join(dirpath, n))
            except pydicom.errors.InvalidDicomError:
                continue
            if ds.SeriesInstanceUID == series:
                slices.append(ds)
    iop = np.array([float(v) for v in slices[0].ImageOrientationPatient])
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    slices.sort(key=lambda d: float(np.dot([float(v) for v in d.ImagePositionPatient], normal)))
    pos = np.array([[float(v) for v in d.ImagePositionPatient] for d in slices])
    step = (pos[-1] - pos[0]) @ normal / (len(slices) - 1)
    dy, dx = (float(v) for v in slices[0].PixelSpacing)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * dx, col * dy, normal * step, pos[0]
    ras = np.diag([-1, -1, 1, 1]) @ lps
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in slices])
    want = hu.transpose(2, 1, 0)  # (k, j, i) -> (i, j, k)

    img = nib.load(out)
    got = np.asarray(img.dataobj, dtype=np.float64)
    if got.shape != want.shape:
        sys.exit("%s: shape %s, pydicom %s" % (out, got.shape, want.shape))
    if not np.allclose(img.affine, ras, atol=1e-4):
        sys.exit("%s: affine\n%s\npydicom\n%s" % (out, img.affine, ras))
    if not np.array_equal(got, want):
        sys.exit("%s: %d voxels differ; max |diff| %g" % (out, (got != want).sum(), np.abs(got - want).max()))


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 3:
        sys.exit(__doc__)
    for i in range(0, len(args), 3):
        check(*args[i:i + 3])
    print("ok")
