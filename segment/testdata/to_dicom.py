#!/usr/bin/python3
"""Write a NIfTI CT as a DICOM study of one acquisition reconstructed twice.

Usage: /usr/bin/python3 to_dicom.py IN.nii[.gz] OUTDIR

Series 3 "Head 0.6 H70h": the CT as it is, bone kernel H70h.
Series 2 "Head 0.6 H30s": the same slices blurred in-plane (a soft kernel),
  kernel H30s, plus one slice more (the largest series).
Series 1 "Topogram": two LOCALIZER images.
Signed 16-bit, RescaleSlope 1, RescaleIntercept 0; geometry from the NIfTI
affine (RAS) turned to LPS. TestSegmentFileChoosesBoneSeries reads it.
"""
import os
import sys

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

ROOT = "1.2.826.0.1.3680043.8.498.78"
CT = "1.2.840.10008.5.1.4.1.1.2"


def blur(a):
    """3x3 in-plane box blur, edges replicated."""
    p = np.pad(a, ((1, 1), (1, 1)), mode="edge").astype(np.float64)
    out = sum(p[1 + dy:p.shape[0] - 1 + dy, 1 + dx:p.shape[1] - 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    return np.round(out).astype(np.int16)


def write_series(out, no, desc, kernel, itype, planes, lps, spacing):
    os.makedirs(os.path.join(out, "s%d" % no), exist_ok=True)
    row, col = lps[:3, 0] / spacing[0], lps[:3, 1] / spacing[1]
    for k, plane in enumerate(planes):
        ipp = lps[:3, :3] @ np.array([0, 0, k]) + lps[:3, 3]
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CT
        ds.file_meta.MediaStorageSOPInstanceUID = "%s.%d.%d" % (ROOT, no, k + 1)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = CT
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = ROOT + ".1000"
        ds.SeriesInstanceUID = "%s.%d" % (ROOT, no)
        ds.FrameOfReferenceUID = ROOT + ".2000"
        ds.Modality = "CT"
        ds.SeriesNumber, ds.InstanceNumber = no, k + 1
        ds.SeriesDescription = desc
        ds.ImageType = itype
        ds.ConvolutionKernel = kernel
        ds.ImagePositionPatient = ["%.6f" % v for v in ipp]
        ds.ImageOrientationPatient = ["%.8f" % v for v in list(row) + list(col)]
        ds.PixelSpacing = ["%.6f" % spacing[1], "%.6f" % spacing[0]]
        ds.SliceThickness = "%.6f" % spacing[2]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.PixelData = plane.astype("<i2").tobytes()
        ds["PixelData"].VR = "OW"
        ds.save_as(os.path.join(out, "s%d" % no, "IM%04d" % k), write_like_original=False)


def main():
    img = nib.load(sys.argv[1])
    out = sys.argv[2]
    data = np.asarray(img.dataobj).astype(np.int16)  # x, y, z
    lps = np.diag([-1, -1, 1, 1]) @ img.affine
    spacing = np.sqrt((img.affine[:3, :3] ** 2).sum(axis=0))
    planes = [data[:, :, k].T for k in range(data.shape[2])]  # rows = y, columns = x
    write_series(out, 3, "Head 0.6 H70h", "H70h", ["ORIGINAL", "PRIMARY", "AXIAL"], planes, lps, spacing)
    soft = [blur(p) for p in planes] + [blur(planes[-1])]
    write_series(out, 2, "Head 0.6 H30s", "H30s", ["ORIGINAL", "PRIMARY", "AXIAL"], soft, lps, spacing)
    write_series(out, 1, "Topogram", "T20f", ["ORIGINAL", "PRIMARY", "LOCALIZER"], planes[:2], lps, spacing)


if __name__ == "__main__":
    main()
