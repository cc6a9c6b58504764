#!/usr/bin/python3
"""Write a study folder with the series a radiologist must choose between.

Usage: /usr/bin/python3 make_choice.py OUTDIR

One acquisition reconstructed twice: series 2 in a soft-tissue kernel
(H30s, 120 slices) and series 3 in a bone kernel (H70h, 119 slices: the
"largest series" rule would take the soft one); series 1 a three-image
scout (ImageType LOCALIZER); series 4 a coronal-like reformat of the bone
data (ImageType DERIVED\\SECONDARY\\MPR, thinner slices and more of them);
series 5 an MR series with more slices than any other. The test
(TestSeriesChoice) checks that series 3 is read, and why.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import make_series, write  # noqa: E402


def tagger(image_type, kernel, modality="CT"):
    def tweak(k, ds):
        ds.ImageType = image_type
        if kernel:
            ds.ConvolutionKernel = kernel
        ds.Modality = modality
    return tweak


def main():
    out = sys.argv[1]
    series = [
        ("scout", 1, 3, ["ORIGINAL", "PRIMARY", "LOCALIZER"], "T20f", "Topogram 0.6 T20f", 5.0, "CT"),
        ("soft", 2, 120, ["ORIGINAL", "PRIMARY", "AXIAL"], "H30s", "Head 0.6 H30s", 0.6, "CT"),
        ("bone", 3, 119, ["ORIGINAL", "PRIMARY", "AXIAL"], "H70h", "Head 0.6 H70h", 0.6, "CT"),
        ("mpr", 4, 130, ["DERIVED", "SECONDARY", "MPR"], "H70h", "Cor bone MPR", 0.5, "CT"),
        ("mr", 5, 140, ["ORIGINAL", "PRIMARY", "M"], "", "T2 CISS", 0.5, "MR"),
    ]
    for folder, no, n, itype, kernel, desc, step, modality in series:
        files = make_series(folder, no, 8, 8, n, slice_step=step, description=desc, seed=no,
                            tweak=tagger(itype, kernel, modality))
        write(files, os.path.join(out, folder))


if __name__ == "__main__":
    main()
