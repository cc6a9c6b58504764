#!/usr/bin/python3
"""Write the DICOM fixtures of package imageio/dicom and what pydicom reads from them.

Run from anywhere: /usr/bin/python3 imageio/dicom/testdata/make_fixtures.py
Needs python3-pydicom and numpy (Debian), and dcmtk's dcmcjpeg for the two
JPEG Lossless series (apt-get install -y dcmtk; only needed to regenerate).

Every series folder gets expected/<name>.json (dims, spacing, origin, direction
in LPS with direction as columns: row cosine, column cosine, slice normal) and
expected/<name>.f32 (the voxels in HU as little-endian float32, i fastest),
computed here with pydicom and numpy only, independently of the Go reader:
slices sorted by ImagePositionPatient projected on the normal, spacing from
the positions, values = pixel_array * RescaleSlope + RescaleIntercept.

The files are deliberately odd: file names in a shuffled order unrelated to
position, InstanceNumber running against position, non-square pixels,
SliceThickness different from the real spacing, nested folders, a second
series and a text file in the same folder.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, RLELossless)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "1.2.826.0.1.3680043.8.498.77"  # fixed so regenerating gives the same files
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def uid(*parts):
    return ".".join([ROOT] + [str(p) for p in parts])


def rotation(ax, ay, az):
    """Rotation matrix from angles in degrees about x, then y, then z."""
    ax, ay, az = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def ds_str(x):
    """A DS value string of at most 16 characters."""
    s = "%.10g" % x
    if len(s) > 16:
        s = "%.8g" % x
    return s


def make_series(name, series_no, rows, cols, nslices, *, rot=(0, 0, 0), pixel_spacing=(0.5, 0.4),
                slice_step=0.7, origin=(-3.2, -2.75, 10.0), bits_alloc=16, bits_stored=12,
                signed=False, slope=1.0, intercept=-1024.0, ts=ExplicitVRLittleEndian,
                description="", seed=0, tweak=None):
    """Return [(filename, Dataset)] for one series; tweak(k, ds) may spoil slice k."""
    rng = np.random.RandomState(seed)
    r = rotation(*rot)
    row_cos, col_cos = r[:, 0], r[:, 1]
    normal = np.cross(row_cos, col_cos)
    if signed:
        lo, hi = -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
        dtype = np.int8 if bits_alloc == 8 else np.int16
    else:
        lo, hi = 0, 2 ** bits_stored - 1
        dtype = np.uint8 if bits_alloc == 8 else np.uint16
    series_uid = uid(series_no)
    order = rng.permutation(nslices)  # file names shuffled against position
    out = []
    for k in range(nslices):
        ipp = np.array(origin) + k * slice_step * normal
        arr = rng.randint(lo, hi + 1, size=(rows, cols)).astype(dtype)
        arr[0, 0], arr[-1, -1] = lo, hi  # make min and max deterministic
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE
        ds.file_meta.MediaStorageSOPInstanceUID = uid(series_no, k + 1)
        ds.file_meta.TransferSyntaxUID = ts
        ds.file_meta.ImplementationClassUID = uid(0)
        ds.SOPClassUID = CT_IMAGE
        ds.SOPInstanceUID = uid(series_no, k + 1)
        ds.StudyInstanceUID = uid(1000)
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = uid(2000)
        ds.Modality = "CT"
        ds.SeriesDescription = description
        ds.SeriesNumber = series_no
        ds.InstanceNumber = nslices - k  # runs against position on purpose
        ds.PatientName = "Fixture^Otoseg"
        ds.PatientID = "OTOSEG-FIXTURE"
        ds.ImagePositionPatient = [ds_str(v) for v in ipp]
        ds.ImageOrientationPatient = [ds_str(v) for v in list(row_cos) + list(col_cos)]
        ds.PixelSpacing = [ds_str(v) for v in pixel_spacing]  # row spacing (dy), column spacing (dx)
        ds.SliceThickness = "1.0"  # deliberately not the spacing between slices
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = bits_alloc
        ds.BitsStored = bits_stored
        ds.HighBit = bits_stored - 1
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleSlope = ds_str(slope)
        ds.RescaleIntercept = ds_str(intercept)
        ds.RescaleType = "HU"
        ds.is_little_endian = ts != ExplicitVRBigEndian
        ds.is_implicit_VR = ts == ImplicitVRLittleEndian
        if ts == ExplicitVRBigEndian:
            ds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
        else:
            ds.PixelData = arr.tobytes()
        ds["PixelData"].VR = "OB" if bits_alloc == 8 else "OW"
        if tweak is not None:
            tweak(k, ds)
        out.append(("IM%04d" % (order[k] * 7 + 3), ds))
    return out


def write(files, folder):
    os.makedirs(folder, exist_ok=True)
    for fname, ds in files:
        ds.save_as(os.path.join(folder, fname), write_like_original=False)


def expected(name, folder, series_uid=None):
    """What pydicom says the series in folder is, written to expected/name.*."""
    slices = []
    for dirpath, _, fnames in os.walk(folder):
        for f in fnames:
            ds = pydicom.dcmread(os.path.join(dirpath, f), force=True)  # force: headless files
            if "PixelData" not in ds:
                continue  # README.txt and the like
            if "TransferSyntaxUID" not in ds.file_meta:  # headless: say what pydicom guessed
                ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian
            if series_uid is None or ds.SeriesInstanceUID == series_uid:
                slices.append(ds)
    iop = np.array([float(v) for v in slices[0].ImageOrientationPatient])
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    slices.sort(key=lambda d: float(np.dot([float(v) for v in d.ImagePositionPatient], normal)))
    pos = np.array([[float(v) for v in d.ImagePositionPatient] for d in slices])
    d = pos @ normal
    step = (d[-1] - d[0]) / (len(d) - 1)
    vol = np.stack([d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept)
                    for d in slices])  # (k, j, i): flattening in C order puts i fastest
    ps = [float(v) for v in slices[0].PixelSpacing]
    info = {
        "series": slices[0].SeriesInstanceUID,
        "dims": [int(slices[0].Columns), int(slices[0].Rows), len(slices)],
        "spacing": [ps[1], ps[0], step],
        "origin": pos[0].tolist(),
        "direction": np.column_stack([row_cos, col_cos, normal]).tolist(),
        "min": vol.min(), "max": vol.max(), "mean": vol.mean(),
    }
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    with open(os.path.join(HERE, "expected", name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    vol.astype("<f4").tofile(os.path.join(HERE, "expected", name + ".f32"))


def dcmcjpeg(src, dst, args):
    os.makedirs(dst, exist_ok=True)
    for f in sorted(os.listdir(src)):
        subprocess.run(["dcmcjpeg"] + args + [os.path.join(src, f), os.path.join(dst, f)], check=True)
        # dcmtk must give back exactly the original pixels, or the fixture lies.
        with tempfile.TemporaryDirectory() as tmp:
            back = os.path.join(tmp, "back.dcm")
            subprocess.run(["dcmdjpeg", os.path.join(dst, f), back], check=True)
            a = pydicom.dcmread(os.path.join(src, f)).pixel_array
            b = pydicom.dcmread(back).pixel_array
            assert np.array_equal(a, b), f


def main():
    for d in os.listdir(HERE):
        p = os.path.join(HERE, d)
        if os.path.isdir(p) and d != "fuzz":  # keep Go's fuzz corpus
            shutil.rmtree(p)

    # 1. Axial CT, 12-bit unsigned, implicit VR, in nested folders, with a
    #    smaller oblique signed "scout" series and a text file beside it.
    axial = make_series("axial", 1, 12, 16, 8, ts=ImplicitVRLittleEndian, description="axial bone",
                        seed=1)
    write(axial[:4], os.path.join(HERE, "axial", "part1"))
    write(axial[4:], os.path.join(HERE, "axial", "part2", "deeper"))
    scout = make_series("scout", 2, 6, 8, 3, rot=(10, -20, 35), pixel_spacing=(1.5, 1.25),
                        slice_step=2.5, origin=(20, -30, 5), bits_stored=16, signed=True,
                        slope=0.5, intercept=-10.25, description="scout", seed=2)
    write(scout, os.path.join(HERE, "axial", "scout"))
    with open(os.path.join(HERE, "axial", "README.txt"), "w") as f:
        f.write("not DICOM: the reader must skip this file\n")
    expected("axial", os.path.join(HERE, "axial"), uid(1))
    expected("axial_scout", os.path.join(HERE, "axial"), uid(2))

    # 2. Oblique, 16-bit signed, explicit VR little endian, slope 2.
    oblique = make_series("oblique", 3, 12, 16, 8, rot=(25, -15, 40), pixel_spacing=(0.6, 0.45),
                          slice_step=0.8, origin=(12.5, -40.25, 77.0), bits_stored=16, signed=True,
                          slope=2.0, intercept=-1000.0, description="oblique", seed=3)
    write(oblique, os.path.join(HERE, "oblique"))
    expected("oblique", os.path.join(HERE, "oblique"))

    # 3. The oblique series RLE Lossless (pydicom encodes RLE natively).
    rle = make_series("rle", 4, 12, 16, 8, rot=(25, -15, 40), pixel_spacing=(0.6, 0.45),
                      slice_step=0.8, origin=(12.5, -40.25, 77.0), bits_stored=16, signed=True,
                      slope=2.0, intercept=-1000.0, description="rle", seed=4)
    write(rle, os.path.join(HERE, "rle"))
    expected("rle", os.path.join(HERE, "rle"))
    for i, f in enumerate(sorted(os.listdir(os.path.join(HERE, "rle")))):
        p = os.path.join(HERE, "rle", f)
        ds = pydicom.dcmread(p)
        ds.compress(RLELossless)
        ds["PixelData"].VR = "OB"  # encapsulated pixel data is OB
        if i % 2 == 0:  # half the files carry an Extended Offset Table (VR OV, 32-bit length)
            ds.add_new(0x7FE00001, "OV", bytes(8))
            ds.add_new(0x7FE00002, "OV", (len(ds.PixelData) - 8).to_bytes(8, "little"))
        ds.save_as(p, write_like_original=False)

    # 4./5. JPEG Lossless, process 14 selection value 1 (.70) and predictor 7 (.57),
    #       written by dcmtk from native series; pydicom reads the natives.
    with tempfile.TemporaryDirectory() as tmp:
        s70 = make_series("jpeg70", 5, 12, 16, 6, rot=(0, 90, 0), pixel_spacing=(0.3, 0.35),
                          slice_step=0.4, origin=(-5, 6, 7), bits_stored=12, signed=False,
                          slope=1.0, intercept=-1024.0, description="jpeg lossless sv1", seed=5)
        write(s70, os.path.join(tmp, "j70"))
        expected("jpeg70", os.path.join(tmp, "j70"))
        dcmcjpeg(os.path.join(tmp, "j70"), os.path.join(HERE, "jpeg70"), ["+e1"])
        s57 = make_series("jpeg57", 6, 12, 16, 6, rot=(-30, 10, 5), pixel_spacing=(0.5, 0.5),
                          slice_step=0.5, origin=(1, 2, 3), bits_stored=16, signed=True,
                          slope=1.0, intercept=0.0, description="jpeg lossless sv7", seed=6)
        write(s57, os.path.join(tmp, "j57"))
        expected("jpeg57", os.path.join(tmp, "j57"))
        dcmcjpeg(os.path.join(tmp, "j57"), os.path.join(HERE, "jpeg57"), ["+el", "+sv", "7"])

        # Every predictor, and a point transform, one slice each; expected
        # values from pydicom reading dcmtk's own decompression.
        one = make_series("pred", 9, 12, 16, 1, bits_stored=16, signed=True, slope=1.0,
                          intercept=0.0, description="predictors", seed=9)
        write(one, os.path.join(tmp, "pred"))
        src = os.path.join(tmp, "pred", one[0][0])
        os.makedirs(os.path.join(HERE, "jpeg_predictors"))
        for name, args in [("sv%d" % sv, ["+el", "+sv", str(sv)]) for sv in range(1, 8)] + \
                          [("sv1_pt3", ["+el", "+sv", "1", "+pt", "3"])]:
            dst = os.path.join(HERE, "jpeg_predictors", name + ".dcm")
            subprocess.run(["dcmcjpeg"] + args + [src, dst], check=True)
            back = os.path.join(tmp, name + "_back.dcm")
            subprocess.run(["dcmdjpeg", dst, back], check=True)
            arr = pydicom.dcmread(back).pixel_array.astype("<f4")
            if "pt" not in name:
                assert np.array_equal(arr, pydicom.dcmread(src).pixel_array), name
            arr.tofile(os.path.join(HERE, "expected", "jpeg_predictors_" + name + ".f32"))

    # 6. 8-bit unsigned, big endian explicit VR (retired but still met).
    u8 = make_series("u8be", 7, 6, 8, 3, bits_alloc=8, bits_stored=8, slope=1.0, intercept=0.0,
                     ts=ExplicitVRBigEndian, description="8-bit big endian", seed=7)
    write(u8, os.path.join(HERE, "u8be"))
    expected("u8be", os.path.join(HERE, "u8be"))

    # 7. Signed 12-bit stored in 16 bits, with an unknown character set.
    def charset(k, ds):  # a misspelt character set, as vendors write them
        ds.SpecificCharacterSet = "ISO_IR100"
    s12 = make_series("s12", 8, 6, 8, 3, bits_stored=12, signed=True, slope=1.0, intercept=0.0,
                      description="signed 12-bit", seed=8, tweak=charset)
    write(s12, os.path.join(HERE, "s12"))
    expected("s12", os.path.join(HERE, "s12"))

    # 8. Files as pydicom's default save_as (write_like_original=True) writes
    #    them: slice 0 with the meta group but no preamble, DICM or group
    #    length (explicit VR); slice 1 with preamble and DICM but no meta
    #    group length; slices 2 and 3 with no meta group at all (implicit VR).
    hl = make_series("headless", 10, 6, 8, 4, rot=(0, 0, 90), description="headless", seed=10)
    os.makedirs(os.path.join(HERE, "headless"))
    for k, (fname, ds) in enumerate(hl):
        if k == 1:
            ds.preamble = b"\0" * 128
        if k >= 2:
            del ds.file_meta
            ds.is_implicit_VR = True
        ds.save_as(os.path.join(HERE, "headless", fname))
    expected("headless", os.path.join(HERE, "headless"))

    # Error cases: small axial series spoiled one way each.
    small = dict(rows=6, cols=8, nslices=5, seed=9)

    def shift(k, ds):  # gantry tilt: each slice moves 0.3 mm along y as well
        p = [float(v) for v in ds.ImagePositionPatient]
        ds.ImagePositionPatient = [ds_str(p[0]), ds_str(p[1] + 0.3 * k), ds_str(p[2])]
    write(make_series("tilt", 20, tweak=shift, description="tilt", **small), os.path.join(HERE, "err_tilt"))

    missing = make_series("missing", 21, description="missing", **small)
    del missing[2]
    write(missing, os.path.join(HERE, "err_missing"))

    def turn(k, ds):
        if k == 3:
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "0.9950041653", "0.0998334166"]
    write(make_series("orient", 22, tweak=turn, description="orientation", **small),
          os.path.join(HERE, "err_orient"))

    def uneven(k, ds):
        if k >= 3:
            p = [float(v) for v in ds.ImagePositionPatient]
            ds.ImagePositionPatient = [ds_str(p[0]), ds_str(p[1]), ds_str(p[2] + 0.25)]
    write(make_series("uneven", 23, tweak=uneven, description="uneven", **small),
          os.path.join(HERE, "err_uneven"))

    def dup(k, ds):
        if k == 4:
            p = [float(v) for v in ds.ImagePositionPatient]
            ds.ImagePositionPatient = [ds_str(p[0]), ds_str(p[1]), ds_str(p[2] - 0.7)]
    write(make_series("dup", 24, tweak=dup, description="duplicate", **small), os.path.join(HERE, "err_duplicate"))

    def size(k, ds):
        if k == 1:
            ds.Rows, ds.Columns = 8, 6
    write(make_series("size", 25, tweak=size, description="size", **small), os.path.join(HERE, "err_size"))

    def j2k(k, ds):  # a JPEG 2000 series: refused by name before any decoding
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.90"
        ds.is_implicit_VR = False
        ds.PixelData = pydicom.encaps.encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    write(make_series("j2k", 26, tweak=j2k, description="jpeg2000", **small), os.path.join(HERE, "err_j2k"))


if __name__ == "__main__":
    sys.exit(main())
