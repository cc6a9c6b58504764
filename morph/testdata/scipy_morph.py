"""Reference morphology for morph/morph_test.go, run by the Go test.

Usage: scipy_morph.py CASE.json OUT.json
The case names a raw uint8 mask (x fastest), its dims [nx, ny, nz], spacing
[sx, sy, sz] in mm and a ball radius in mm. Arrays are handled as numpy
[k, j, i] (so C order is the Go index order). Writes raw outputs next to the
mask and a JSON summary:
  labels6/18/26.raw  int32 scipy.ndimage.label with the 6/18/26 structure
  edt.raw            float32 distance_transform_edt(sampling=spacing)
  fill.raw           uint8 binary_fill_holes (default structure, 6-connected)
  fillz.raw          uint8 binary_fill_holes on each k slice (2-D, 4-connected)
  dilate.raw/erode.raw  uint8 binary_dilation / binary_erosion(border_value=1)
                     with the ball {offsets d : |d * spacing| <= r}
  keep26.raw         uint8 label map (1 + i*3//nx on the mask) with every
                     label reduced to its largest 26-connected component
  JSON: counts per connectivity, skimage euler_number for connectivity 1 and 3
"""
import json
import sys

import numpy as np
from scipy import ndimage
from skimage import measure


def main():
    case = json.load(open(sys.argv[1]))
    nx, ny, nz = case["dims"]
    sx, sy, sz = case["spacing"]
    r = case["radius"]
    base = case["mask"]
    m = np.fromfile(base, dtype=np.uint8).reshape((nz, ny, nx)).astype(bool)
    out = {}
    for conn, rank in ((6, 1), (18, 2), (26, 3)):
        lab, n = ndimage.label(m, structure=ndimage.generate_binary_structure(3, rank))
        lab.astype(np.int32).tofile(base + ".labels%d" % conn)
        out["n%d" % conn] = int(n)
    ndimage.distance_transform_edt(m, sampling=(sz, sy, sx)).astype(np.float32).tofile(base + ".edt")
    ndimage.binary_fill_holes(m).astype(np.uint8).tofile(base + ".fill")
    fz = np.stack([ndimage.binary_fill_holes(m[k]) for k in range(nz)])
    fz.astype(np.uint8).tofile(base + ".fillz")
    rk, rj, ri = int(np.ceil(r / sz)), int(np.ceil(r / sy)), int(np.ceil(r / sx))
    dk, dj, di = np.meshgrid(np.arange(-rk, rk + 1), np.arange(-rj, rj + 1), np.arange(-ri, ri + 1), indexing="ij")
    ball = (dk * sz) ** 2 + (dj * sy) ** 2 + (di * sx) ** 2 <= r * r * (1 + 1e-6)
    ndimage.binary_dilation(m, structure=ball).astype(np.uint8).tofile(base + ".dilate")
    ndimage.binary_erosion(m, structure=ball, border_value=1).astype(np.uint8).tofile(base + ".erode")
    seg = np.where(m, 1 + (np.arange(nx)[None, None, :] * 3) // nx, 0).astype(np.uint8)
    keep = np.zeros_like(seg)
    for lab in range(1, 4):
        comp, n = ndimage.label(seg == lab, structure=np.ones((3, 3, 3)))
        if n:
            sizes = np.bincount(comp.ravel())[1:]
            keep[comp == 1 + np.argmax(sizes)] = lab
    keep.tofile(base + ".keep26")
    out["euler6"] = int(measure.euler_number(m, connectivity=1))
    out["euler26"] = int(measure.euler_number(m, connectivity=3))
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
