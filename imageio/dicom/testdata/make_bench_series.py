#!/usr/bin/python3
"""Write a CT-sized series for timing the reader (not used by tests).

usage: make_bench_series.py OUT_DIR [SLICES] [--jpeg] [--rle]

Writes OUT_DIR/native (512x512 int16, explicit VR little endian) and, with
--jpeg, OUT_DIR/jpeg (the same compressed by dcmtk's dcmcjpeg, JPEG Lossless
SV1) and, with --rle, OUT_DIR/rle (pydicom's RLE Lossless). The image is a
smooth head-like phantom plus noise, so compression ratios are realistic.
"""
import os
import subprocess
import sys

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 200
rng = np.random.RandomState(0)
y, x = np.mgrid[-256:256, -256:256]
os.makedirs(os.path.join(out, "native"), exist_ok=True)
for k in range(n):
    r = np.hypot(x, y * 1.2)
    img = np.where(r < 200, 40, -1000) + np.where((r > 180) & (r < 200), 1200, 0)
    img = (img + rng.normal(0, 20, img.shape)).astype(np.int16) + 1024
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.99.1.%d" % (k + 1)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.99.1"
    ds.Modality = "CT"
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [-128, -128, 0.6 * k]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.Rows, ds.Columns = img.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.PixelData = img.astype(np.uint16).tobytes()
    ds.save_as(os.path.join(out, "native", "%04d.dcm" % k), write_like_original=False)
    if "--rle" in sys.argv:
        os.makedirs(os.path.join(out, "rle"), exist_ok=True)
        ds.compress(RLELossless)
        ds["PixelData"].VR = "OB"
        ds.save_as(os.path.join(out, "rle", "%04d.dcm" % k), write_like_original=False)
    if "--jpeg" in sys.argv:
        os.makedirs(os.path.join(out, "jpeg"), exist_ok=True)
        subprocess.run(["dcmcjpeg", "+e1", os.path.join(out, "native", "%04d.dcm" % k),
                        os.path.join(out, "jpeg", "%04d.dcm" % k)], check=True)
