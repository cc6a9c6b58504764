"""Reference orientation for volume/ops_test.go, run by the Go test.

Usage: nibabel_orient.py CASES.json
For each case (raw float32 input, x fastest; dims; RAS affine) writes
aff2axcodes of the affine, and the affine, shape and data (x fastest) of
nibabel.as_closest_canonical, as JSON + raw float32 next to the output path.
"""
import json
import sys

import nibabel as nib
import numpy as np


def main():
    cases = json.load(open(sys.argv[1]))
    results = []
    for case in cases:
        nx, ny, nz = case["dims"]
        data = np.fromfile(case["input"], dtype=np.float32).reshape((nz, ny, nx)).transpose(2, 1, 0)
        aff = np.array(case["affine"], dtype=np.float64)
        img = nib.Nifti1Image(np.ascontiguousarray(data), aff)
        can = nib.as_closest_canonical(img)
        out = np.asarray(can.dataobj, dtype=np.float32)
        out.transpose(2, 1, 0).tofile(case["output"])
        results.append({
            "axcodes": "".join(nib.aff2axcodes(aff)),
            "canonical_affine": can.affine.tolist(),
            "canonical_dims": list(out.shape),
        })
    json.dump(results, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
