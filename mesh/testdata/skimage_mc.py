"""Reference marching cubes for mesh/mesh_test.go, run by the Go test.

Usage: skimage_mc.py CASES.json OUT.json
Each case: raw float32 field (x fastest), dims [nx, ny, nz], spacing
[sx, sy, sz], level, and pad (a value to pad one voxel on every side with,
or null). Runs skimage.measure.marching_cubes on the [k, j, i] array with
spacing (sz, sy, sx) and reports vertex and face counts, surface area
(mesh_surface_area) and the absolute enclosed volume (divergence theorem;
the axis order [k, j, i] mirrors space, so only its magnitude is compared).
"""
import json
import sys

import numpy as np
from skimage import measure


def main():
    cases = json.load(open(sys.argv[1]))
    out = []
    for case in cases:
        nx, ny, nz = case["dims"]
        sx, sy, sz = case["spacing"]
        vol = np.fromfile(case["input"], dtype=np.float32).reshape((nz, ny, nx)).astype(np.float64)
        if case.get("pad") is not None:
            vol = np.pad(vol, 1, constant_values=case["pad"])
        verts, faces, _, _ = measure.marching_cubes(vol, level=case["level"], spacing=(sz, sy, sx))
        a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
        o = verts.mean(axis=0)
        vol6 = np.einsum("ij,ij->i", a - o, np.cross(b - o, c - o)).sum() / 6
        out.append({
            "vertices": int(len(verts)),
            "faces": int(len(faces)),
            "area": float(measure.mesh_surface_area(verts, faces)),
            "volume": float(abs(vol6)),
        })
    json.dump(out, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
