#!/usr/bin/python3
"""PyTorch side of otoseg's nnU-Net side-by-side (scripts/nnunet-side-by-side.sh).

    nnunet_torch.py build RESULTS_DIR --image IMG --label LAB
        writes an nnU-Net v2 trained-model folder (plans.json, dataset.json,
        fold_0/checkpoint_final.pth) with a PlainConvUNet of nnU-Net's size
        for 0.4 mm inner-ear CT: 6 stages of 32-64-128-256-320-320 features,
        patch 96 x 160 x 160 (z y x), a 1x2x2 last stride; He-initialised
        random weights (a timing needs no training). The CT normalisation
        comes from the labelled voxels of IMG/LAB, as nnU-Net's fingerprint.
    nnunet_torch.py predict RESULTS_DIR SCAN OUT [--no-mirror] [--threads N]
        loads the checkpoint with torch.load and load_state_dict(strict=True)
        and predicts SCAN with the PyTorch reimplementation of nnU-Net's
        predictor in nnunet/testdata/make_fixtures.py; prints seconds and
        peak memory as JSON.

Run with Debian's /usr/bin/python3 from the repository root.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nnunet", "testdata"))
import make_fixtures as mf  # noqa: E402

ARCH = {"n_stages": 6, "features_per_stage": [32, 64, 128, 256, 320, 320],
        "kernel_sizes": [[3, 3, 3]] * 6,
        "strides": [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]],
        "n_conv_per_stage": [2] * 6, "n_conv_per_stage_decoder": [2] * 5}
SPACING = [0.4, 0.4, 0.4]
PATCH = [96, 160, 160]


def build(a):
    img, _, _ = mf.load_zyx(a.image)
    lab, _, _ = mf.load_zyx(a.label)
    props = mf.fg_props([(img, lab, None, None)])
    name = os.path.basename(os.path.dirname(os.path.abspath(a.results)))
    plan = mf.plans_json(name, SPACING, PATCH, ARCH, props)
    ds = mf.dataset_json(1)
    os.makedirs(a.results, exist_ok=True)
    for fn, obj in (("plans.json", plan), ("dataset.json", ds)):
        with open(os.path.join(a.results, fn), "w") as f:
            json.dump(obj, f, indent=4)
    net = mf.PlainConvUNet(ARCH, len(mf.LABELS), True)
    mf.he_init(net, 1)
    mf.save_checkpoint(os.path.join(a.results, "fold_0", "checkpoint_final.pth"), net, None, [1.0], plan, 0, ds)
    print("wrote", a.results, sum(p.numel() for p in net.parameters()), "parameters")


def predict(a):
    torch.set_num_threads(a.threads)
    t0 = time.time()
    plan = json.load(open(os.path.join(a.results, "plans.json")))
    ck = torch.load(os.path.join(a.results, "fold_0", "checkpoint_final.pth"), map_location="cpu")
    arch = plan["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]
    net = mf.PlainConvUNet(arch, len(mf.LABELS), False)
    net.load_state_dict(ck["network_weights"], strict=True)
    net.eval()
    props = plan["foreground_intensity_properties_per_channel"]["0"]
    mirror = () if a.no_mirror else tuple(ck["inference_allowed_mirroring_axes"])
    t1 = time.time()
    seg = mf.predict([net], a.scan, plan, props, mirror, a.out)
    t2 = time.time()
    print(json.dumps({"load_seconds": round(t1 - t0, 2), "predict_seconds": round(t2 - t1, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "threads": a.threads, "mirror_axes": list(mirror),
                      "voxels_by_label": [int((seg == k).sum()) for k in range(len(mf.LABELS))]}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("results")
    b.add_argument("--image", required=True)
    b.add_argument("--label", required=True)
    r = sub.add_parser("predict")
    r.add_argument("results")
    r.add_argument("scan")
    r.add_argument("out")
    r.add_argument("--no-mirror", action="store_true")
    r.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    build(a) if a.cmd == "build" else predict(a)


if __name__ == "__main__":
    main()
