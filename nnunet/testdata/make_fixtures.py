#!/usr/bin/python3
"""Build nnU-Net v2 trained-model folders with PyTorch, and nnU-Net's own
predictions on a phantom, for package nnunet's tests.

No real nnU-Net checkpoint can be downloaded where otoseg is built, so this
script makes them the way nnU-Net does: a PlainConvUNet with the module names
of dynamic_network_architectures (so the state dict has nnU-Net's keys,
including the duplicates its modules register: convs.N.all_modules.* and
decoder.encoder.*), a plans.json / dataset.json in nnU-Net v2's layout and a
fold_N/checkpoint_final.pth holding the dict nnUNetTrainer.save_checkpoint
writes (network_weights, optimizer_state, logging, init_args,
inference_allowed_mirroring_axes, ...). The code is written from nnU-Net's
documented behaviour, not copied.

Run from the repository root with Debian's interpreter, after writing the
two phantoms it reads:

    go run ./cmd/otoseg phantom --out /tmp/nnunet-ph --cases 2 --seed 7 -q
    /usr/bin/python3 nnunet/testdata/make_fixtures.py /tmp/nnunet-ph

It writes, under nnunet/testdata/:

  iso/Dataset901_PhantomIso/nnUNetTrainer__nnUNetPlans__3d_fullres/
      3 stages, 3x3x3 kernels, 0.4 mm isotropic plan; fold_0 trained 150
      Adam steps on phantom ears, fold_1 random (He-initialised weights,
      random biases and norm affines, so that every parameter matters)
  aniso/Dataset902_PhantomAniso/nnUNetTrainer__nnUNetPlans__3d_fullres/
      4 stages, 1x3x3 first-stage kernels and a 1x2x2 stride, 0.8 x 0.4 x 0.4
      mm plan; fold_0 trained, fold_1 random
  <each results folder>/patch.safetensors
      x (1,1,half the plan's patch) and fold_N.logits: PyTorch's logits on it
  scan.nii.gz, label.nii.gz
      a phantom ear (another case, 0.47 x 0.47 x 0.8 mm) and its labels
  pred_iso_fold0.nii.gz, pred_iso_all.nii.gz, pred_aniso_fold0.nii.gz
      what nnU-Net's predictor (reimplemented below: crop to non-zero, CT
      normalisation, resampling with skimage order 3, padding, Gaussian
      sliding window, mirroring, fold averaging of logits, order-1 resampling
      back, argmax) gives on scan.nii.gz
"""
import itertools
import json
import os
import struct
import sys

import nibabel as nib
import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from skimage.transform import resize
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINER = "nnUNetTrainer__nnUNetPlans__3d_fullres"
LABELS = {"background": 0, "cochlea": 1, "vestibule": 2, "semicircular_canals": 3}


# ---- the network, with dynamic_network_architectures' module names ----

class ConvDropoutNormReLU(nn.Module):
    def __init__(self, cin, cout, kernel, stride):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel, stride, [(k - 1) // 2 for k in kernel], bias=True)
        self.norm = nn.InstanceNorm3d(cout, eps=1e-5, affine=True)
        self.nonlin = nn.LeakyReLU(0.01, inplace=True)
        # The same modules again: nnU-Net's blocks run through this Sequential,
        # which is why their state dicts carry all_modules.* keys too.
        self.all_modules = nn.Sequential(self.conv, self.norm, self.nonlin)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    def __init__(self, n, cin, cout, kernel, stride):
        super().__init__()
        self.convs = nn.Sequential(
            ConvDropoutNormReLU(cin, cout, kernel, stride),
            *[ConvDropoutNormReLU(cout, cout, kernel, [1, 1, 1]) for _ in range(1, n)])

    def forward(self, x):
        return self.convs(x)


class PlainConvEncoder(nn.Module):
    def __init__(self, cin, features, kernels, strides, nconv):
        super().__init__()
        stages = []
        for s, f in enumerate(features):
            stages.append(nn.Sequential(StackedConvBlocks(nconv[s], cin, f, kernels[s], strides[s])))
            cin = f
        self.stages = nn.Sequential(*stages)
        self.output_channels, self.strides, self.kernel_sizes = features, strides, kernels

    def forward(self, x):
        skips = []
        for st in self.stages:
            x = st(x)
            skips.append(x)
        return skips


class UNetDecoder(nn.Module):
    def __init__(self, encoder, num_classes, nconv, deep_supervision):
        super().__init__()
        self.deep_supervision = deep_supervision
        self.encoder = encoder  # registered: decoder.encoder.* duplicates the encoder's keys
        f, n = encoder.output_channels, len(encoder.output_channels)
        self.stages = nn.ModuleList()
        self.transpconvs = nn.ModuleList()
        self.seg_layers = nn.ModuleList()
        for s in range(1, n):
            below, skip, st = f[-s], f[-(s + 1)], encoder.strides[-s]
            self.transpconvs.append(nn.ConvTranspose3d(below, skip, st, st, bias=True))
            self.stages.append(StackedConvBlocks(nconv[s - 1], 2 * skip, skip, encoder.kernel_sizes[-(s + 1)], [1, 1, 1]))
            self.seg_layers.append(nn.Conv3d(skip, num_classes, 1, 1, 0, bias=True))

    def forward(self, skips):
        x, outs = skips[-1], []
        for s in range(len(self.stages)):
            x = self.stages[s](torch.cat((self.transpconvs[s](x), skips[-(s + 2)]), 1))
            if self.deep_supervision:
                outs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outs.append(self.seg_layers[-1](x))
        outs = outs[::-1]
        return outs if self.deep_supervision else outs[0]


class PlainConvUNet(nn.Module):
    def __init__(self, arch, num_classes, deep_supervision):
        super().__init__()
        self.encoder = PlainConvEncoder(1, arch["features_per_stage"], arch["kernel_sizes"], arch["strides"], arch["n_conv_per_stage"])
        self.decoder = UNetDecoder(self.encoder, num_classes, arch["n_conv_per_stage_decoder"], deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def he_init(net, seed):
    """nnU-Net's InitWeights_He(1e-2)."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
            fan_in = m.weight[0].numel() if isinstance(m, nn.Conv3d) else m.weight.shape[1] * m.weight[0, 0].numel()
            std = (2.0 / (1 + 1e-4)) ** 0.5 / fan_in ** 0.5
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * std)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        elif isinstance(m, nn.InstanceNorm3d):
            with torch.no_grad():
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))


# ---- nnU-Net's preprocessing and predictor, as documented ----

def load_zyx(path):
    """The array nnU-Net's SimpleITK reader gives: voxel axes reversed (z, y, x)."""
    im = nib.load(path)
    return np.asarray(im.dataobj).transpose(2, 1, 0).astype(np.float32), [float(s) for s in im.header.get_zooms()[::-1]], im


def ct_normalise(x, props):
    x = np.clip(x, props["percentile_00_5"], props["percentile_99_5"])
    return ((x - props["mean"]) / max(props["std"], 1e-8)).astype(np.float32)


def resample_to_shape(x, shape, order):
    """resample_data_or_seg_to_shape for spacings without a separate z."""
    if tuple(shape) == x.shape[-3:]:
        return x
    out = [resize(c, shape, order, mode="edge", anti_aliasing=False) for c in x.reshape(-1, *x.shape[-3:])]
    return np.stack(out).reshape(*x.shape[:-3], *shape).astype(np.float32)


def gaussian_map(patch):
    tmp = np.zeros(patch)
    tmp[tuple(p // 2 for p in patch)] = 1
    g = gaussian_filter(tmp, [p / 8 for p in patch], 0, mode="constant", cval=0)
    g = g / g.max() * 10
    g[g == 0] = g[g != 0].min()
    return torch.from_numpy(g.astype(np.float32))


def window_starts(size, patch, step=0.5):
    n = int(np.ceil((size - patch) / (patch * step))) + 1
    if n == 1:
        return [0]
    actual = (size - patch) / (n - 1)
    return [int(np.round(actual * i)) for i in range(n)]


@torch.no_grad()
def sliding_window(net, data, patch, classes, mirror_axes):
    shape = data.shape
    pad = [max(p - s, 0) for s, p in zip(shape, patch)]
    lo = [p // 2 for p in pad]
    data = np.pad(data, [(l, p - l) for l, p in zip(lo, pad)], constant_values=0)
    x = torch.from_numpy(data)[None, None]
    logits = torch.zeros((classes, *data.shape))
    weight = torch.zeros(data.shape)
    g = gaussian_map(patch)
    axes = [m + 2 for m in mirror_axes]
    combos = [c for i in range(len(axes)) for c in itertools.combinations(axes, i + 1)]
    for z in window_starts(data.shape[0], patch[0]):
        for y in window_starts(data.shape[1], patch[1]):
            for xx in window_starts(data.shape[2], patch[2]):
                sl = (slice(z, z + patch[0]), slice(y, y + patch[1]), slice(xx, xx + patch[2]))
                w = x[(slice(None), slice(None)) + sl]
                p = net(w)
                for c in combos:
                    p += torch.flip(net(torch.flip(w, c)), c)
                p = p / (len(combos) + 1)
                logits[(slice(None),) + sl] += p[0] * g
                weight[sl] += g
    logits /= weight
    return logits[(slice(None),) + tuple(slice(l, l + s) for l, s in zip(lo, shape))].numpy()


def predict(nets, scan_path, plan, props, mirror_axes, out_path):
    img, spacing, im = load_zyx(scan_path)
    cfg = plan["configurations"]["3d_fullres"]
    nz = np.argwhere(img != 0)
    lo, hi = nz.min(0), nz.max(0) + 1
    crop = img[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    data = ct_normalise(crop, props)
    target = cfg["spacing"]
    new_shape = [int(round(s / t * n)) for s, t, n in zip(spacing, target, crop.shape)]
    data = resample_to_shape(data, new_shape, 3)
    classes = len(LABELS)
    acc = None
    for net in nets:
        lg = sliding_window(net, data, cfg["patch_size"], classes, mirror_axes)
        acc = lg if acc is None else acc + lg
    acc /= len(nets)
    acc = resample_to_shape(acc, crop.shape, 1)
    seg = np.zeros(img.shape, np.uint8)
    seg[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = acc.argmax(0)
    nib.save(nib.Nifti1Image(seg.transpose(2, 1, 0), im.affine), out_path)
    return seg


# ---- data: phantom ears ----

def ear_crops(img_path, lab_path, size_mm):
    """Both ears of a phantom, cut to size_mm around each labyrinth."""
    img, sp, im = load_zyx(img_path)
    lab, _, _ = load_zyx(lab_path)
    out = []
    mid = img.shape[2] // 2
    for side in (slice(0, mid), slice(mid, None)):
        m = np.zeros(lab.shape, bool)
        m[:, :, side] = lab[:, :, side] > 0
        idx = np.argwhere(m)
        c = (idx.min(0) + idx.max(0)) // 2
        half = [int(round(size_mm[a] / sp[a] / 2)) for a in range(3)]
        lo = [max(c[a] - half[a], 0) for a in range(3)]
        hi = [min(c[a] + half[a], img.shape[a]) for a in range(3)]
        sl = tuple(slice(l, h) for l, h in zip(lo, hi))
        # The crop keeps the source's direction; its origin moves to lo.
        aff = im.affine.copy()
        aff[:3, 3] = im.affine[:3, :3] @ np.array(lo[::-1]) + im.affine[:3, 3]
        out.append((img[sl], lab[sl], sp, aff))
    return out


def fg_props(crops):
    v = np.concatenate([img[lab > 0] for img, lab, _, _ in crops]).astype(np.float64)
    return {"max": float(v.max()), "mean": float(v.mean()), "median": float(np.median(v)), "min": float(v.min()),
            "percentile_00_5": float(np.percentile(v, 0.5)), "percentile_99_5": float(np.percentile(v, 99.5)),
            "std": float(v.std())}


def train(net, crops, plan, props, steps, seed):
    """Adam steps of Dice+CE on random patches of the ears (half on the labyrinth)."""
    cfg = plan["configurations"]["3d_fullres"]
    patch = cfg["patch_size"]
    rng = np.random.default_rng(seed)
    vols = []
    for img, lab, sp, _ in crops:
        shape = [int(round(s / t * n)) for s, t, n in zip(sp, cfg["spacing"], img.shape)]
        x = resample_to_shape(ct_normalise(img, props), shape, 3)
        y = np.rint(resize(lab, shape, 0, mode="edge", anti_aliasing=False, preserve_range=True)).astype(np.int64)
        vols.append((x, y))
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    net.train()
    log = []
    for step in range(steps):
        xs, ys = [], []
        for _ in range(2):
            x, y = vols[rng.integers(len(vols))]
            # Half the patches centred on the labyrinth, as nnU-Net oversamples foreground.
            if rng.random() < 0.5:
                fg = np.argwhere(y > 0)
                c = fg[rng.integers(len(fg))]
                o = [int(np.clip(c[a] - patch[a] // 2, 0, x.shape[a] - patch[a])) for a in range(3)]
            else:
                o = [int(rng.integers(0, x.shape[a] - patch[a] + 1)) for a in range(3)]
            sl = tuple(slice(o[a], o[a] + patch[a]) for a in range(3))
            xs.append(x[sl])
            ys.append(y[sl])
        xb = torch.from_numpy(np.stack(xs))[:, None]
        yb = torch.from_numpy(np.stack(ys))
        out = net(xb)[0]
        p = torch.softmax(out, 1)
        oh = torch.nn.functional.one_hot(yb, out.shape[1]).permute(0, 4, 1, 2, 3).float()
        dice = 1 - ((2 * (p * oh).sum((0, 2, 3, 4)) + 1e-5) / (p.sum((0, 2, 3, 4)) + oh.sum((0, 2, 3, 4)) + 1e-5))[1:].mean()
        loss = torch.nn.functional.cross_entropy(out, yb) + dice
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append(float(loss))
    net.eval()
    print(f"  trained {steps} steps: loss {np.mean(log[:10]):.3f} -> {np.mean(log[-10:]):.3f}")
    return opt, log


# ---- nnU-Net's files ----

def plans_json(name, spacing, patch, arch, props):
    return {
        "dataset_name": name, "plans_name": "nnUNetPlans",
        "original_median_spacing_after_transp": spacing, "original_median_shape_after_transp": [64, 64, 64],
        "image_reader_writer": "SimpleITKIO", "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
        "configurations": {"3d_fullres": {
            "data_identifier": "nnUNetPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 2, "patch_size": patch, "median_image_size_in_voxels": [64, 64, 64], "spacing": spacing,
            "normalization_schemes": ["CTNormalization"], "use_mask_for_norm": [False],
            "resampling_fn_data": "resample_data_or_seg_to_shape", "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
            "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
            "architecture": {
                "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
                "arch_kwargs": dict(arch, conv_op="torch.nn.modules.conv.Conv3d", conv_bias=True,
                                    norm_op="torch.nn.modules.instancenorm.InstanceNorm3d",
                                    norm_op_kwargs={"eps": 1e-05, "affine": True}, dropout_op=None,
                                    dropout_op_kwargs=None, nonlin="torch.nn.LeakyReLU",
                                    nonlin_kwargs={"inplace": True}),
                "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]},
            "batch_dice": True}},
        "experiment_planner_used": "ExperimentPlanner", "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {"0": props},
    }


def dataset_json(n):
    return {"channel_names": {"0": "CT"}, "labels": LABELS, "numTraining": n, "file_ending": ".nii.gz",
            "name": "otoseg phantoms"}


def save_checkpoint(path, net, opt, log, plan, fold, ds):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ckpt = {
        "network_weights": net.state_dict(),
        "optimizer_state": opt.state_dict() if opt is not None else {"state": {}, "param_groups": []},
        "grad_scaler_state": None,
        "logging": {"mean_fg_dice": [np.float64(0.5)], "ema_fg_dice": [0.5], "dice_per_class_or_region": [[0.4, 0.5, 0.6]],
                    "train_losses": log[-5:], "val_losses": [], "lrs": [0.01], "epoch_start_timestamps": [0.0],
                    "epoch_end_timestamps": [1.0]},
        "_best_ema": None,
        "current_epoch": 1,
        "init_args": {"plans": plan, "configuration": "3d_fullres", "fold": fold, "dataset_json": ds,
                      "unpack_dataset": True, "device": torch.device("cpu")},
        "trainer_name": "nnUNetTrainer",
        "inference_allowed_mirroring_axes": (0, 1, 2),
    }
    torch.save(ckpt, path)


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def build(kind, name, spacing, patch, arch, crops, props, steps):
    root = os.path.join(HERE, kind, name, TRAINER)
    plan = plans_json(name, spacing, patch, arch, props)
    ds = dataset_json(len(crops))
    os.makedirs(root, exist_ok=True)
    for fn, obj in (("plans.json", plan), ("dataset.json", ds)):
        with open(os.path.join(root, fn), "w") as f:
            json.dump(obj, f, indent=4)
    nets = []
    g = torch.Generator().manual_seed(len(name))
    x = torch.randn((1, 1, *[p // 2 for p in patch]), generator=g)
    ref = {"x": x.numpy()}
    for fold in (0, 1):
        torch.manual_seed(100 * fold + len(kind))
        net = PlainConvUNet(arch, len(LABELS), True)
        he_init(net, 1000 * fold + len(kind))
        opt, log = None, [1.0]
        if fold == 0:
            opt, log = train(net, crops, plan, props, steps, seed=fold)
        net.eval()
        save_checkpoint(os.path.join(root, f"fold_{fold}", "checkpoint_final.pth"), net, opt, log, plan, fold, ds)
        # nnU-Net's predictor turns deep supervision off: one output.
        net.decoder.deep_supervision = False
        with torch.no_grad():
            ref[f"fold_{fold}.logits"] = net(x).numpy()
        nets.append(net)
    save_safetensors(os.path.join(root, "patch.safetensors"), ref)
    return nets, plan


def main():
    torch.set_num_threads(1)
    ph = sys.argv[1]
    imgs = sorted(os.listdir(os.path.join(ph, "images")))
    train_crops = ear_crops(os.path.join(ph, "images", imgs[0]), os.path.join(ph, "labels", imgs[0]), [16, 20, 20])
    props = fg_props(train_crops)
    # The test scan: one ear of the other phantom, at its own spacing.
    test = ear_crops(os.path.join(ph, "images", imgs[1]), os.path.join(ph, "labels", imgs[1]), [14, 18, 18])[0]
    img, lab, sp, aff = test
    scan = os.path.join(HERE, "scan.nii.gz")
    nib.save(nib.Nifti1Image(img.astype(np.int16).transpose(2, 1, 0), aff), scan)
    nib.save(nib.Nifti1Image(lab.astype(np.uint8).transpose(2, 1, 0), aff), os.path.join(HERE, "label.nii.gz"))
    print("scan", img.shape, "spacing", sp, "fg props", props)

    iso_arch = {"n_stages": 3, "features_per_stage": [8, 16, 32], "kernel_sizes": [[3, 3, 3]] * 3,
                "strides": [[1, 1, 1], [2, 2, 2], [2, 2, 2]], "n_conv_per_stage": [2, 2, 2],
                "n_conv_per_stage_decoder": [2, 2]}
    nets, plan = build("iso", "Dataset901_PhantomIso", [0.4, 0.4, 0.4], [32, 32, 32], iso_arch, train_crops, props, 150)
    mirror = (0, 1, 2)
    for label, use in (("pred_iso_fold0", nets[:1]), ("pred_iso_all", nets)):
        seg = predict(use, scan, plan, props, mirror, os.path.join(HERE, label + ".nii.gz"))
        print(label, [int((seg == k).sum()) for k in range(4)], "reference", [int((lab.astype(int) == k).sum()) for k in range(4)])

    aniso_arch = {"n_stages": 4, "features_per_stage": [8, 16, 32, 32],
                  "kernel_sizes": [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
                  "strides": [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]], "n_conv_per_stage": [2, 2, 2, 2],
                  "n_conv_per_stage_decoder": [2, 2, 2]}
    nets, plan = build("aniso", "Dataset902_PhantomAniso", [0.8, 0.4, 0.4], [16, 32, 32], aniso_arch, train_crops, props, 150)
    seg = predict(nets[:1], scan, plan, props, mirror, os.path.join(HERE, "pred_aniso_fold0.nii.gz"))
    print("pred_aniso_fold0", [int((seg == k).sum()) for k in range(4)])


if __name__ == "__main__":
    main()
