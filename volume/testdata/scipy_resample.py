"""Reference resampling for volume/resample_test.go, run by the Go test.

Usage: scipy_resample.py CASES.json
Each case names a raw float32 input (x fastest), its dims and RAS-free
geometry as 4x4 voxel-to-world affines (any world convention, only their
ratio matters), the target dims and affine, the scipy order and whether
target voxels beyond half a voxel outside the input get `fill`. The
reference maps every target voxel centre to a continuous input index with
inv(A_src) @ A_tgt, clips it to [0, n-1] per axis (our edge rule) and calls
scipy.ndimage.map_coordinates (mode='nearest' for order 0/1, 'mirror' with
the spline prefilter for order 3). Labels: per-label one-hot order 1 then
argmax over labels in ascending order.
"""
import json
import sys

import numpy as np
from scipy import ndimage


def coords(case):
    src = np.array(case["src_affine"], dtype=np.float64)
    tgt = np.array(case["tgt_affine"], dtype=np.float64)
    m = np.linalg.inv(src) @ tgt
    mx, my, mz = case["tgt_dims"]
    k, j, i = np.meshgrid(np.arange(mz), np.arange(my), np.arange(mx), indexing="ij")
    idx = np.stack([i.ravel(), j.ravel(), k.ravel(), np.ones(i.size)]).astype(np.float64)
    c = (m @ idx)[:3]
    n = np.array(case["src_dims"], dtype=np.float64)[:, None]
    outside = np.zeros(c.shape[1], dtype=bool)
    if case.get("use_fill"):
        outside = ((c < -0.5 - 1e-6) | (c > n - 0.5 + 1e-6)).any(axis=0)
    c = np.clip(c, 0, n - 1)
    return c, outside


def main():
    cases = json.load(open(sys.argv[1]))
    for case in cases:
        nx, ny, nz = case["src_dims"]
        data = np.fromfile(case["input"], dtype=np.float32).reshape((nz, ny, nx))
        vol = data.transpose(2, 1, 0).astype(np.float64)  # [i, j, k]
        c, outside = coords(case)
        order = case["order"]
        if case.get("labels"):
            labs = np.unique(vol).astype(np.int64)
            stack = []
            for lab in labs:
                stack.append(ndimage.map_coordinates((vol == lab).astype(np.float64), c, order=1, mode="nearest"))
            stack = np.stack(stack)
            out = labs[np.argmax(stack, axis=0)].astype(np.float64)
            # record how close each voxel was to a tie, so the test can skip true ties
            s = np.sort(stack, axis=0)
            margin = s[-1] - s[-2] if len(labs) > 1 else np.ones(stack.shape[1])
            margin[outside] = 1
            margin.astype(np.float32).tofile(case["output"] + ".margin")
        else:
            mode = "mirror" if order == 3 else "nearest"
            out = ndimage.map_coordinates(vol, c, order=order, mode=mode, prefilter=True)
        out[outside] = case.get("fill", 0)
        out.astype(np.float32).tofile(case["output"])


if __name__ == "__main__":
    main()
