#!/usr/bin/python3
"""otoseg's U-Net in PyTorch, for fixtures and side-by-side timing.

The module mirrors package unet parameter for parameter, with the names of
nnU-Net's dynamic_network_architectures PlainConvUNet:
encoder.stages.<s>.0.convs.<j>.{conv,norm}.{weight,bias},
decoder.transpconvs.<s>.{weight,bias}, decoder.stages.<s>.convs.<j>...,
decoder.seg_layers.<s>.{weight,bias}; decoder stage 0 is the deepest.

As a program it times one training step (forward, Dice+CE loss with deep
supervision, backward, SGD step) and inference without gradients, and prints
JSON. otoseg embeds this file and runs it for `otoseg bench engine`:

    /usr/bin/python3 unet/torch_unet.py --features 16,32,64,128,256 --threads 2
"""
import argparse
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvNormAct(nn.Module):
    def __init__(self, cin, cout, stride, slope, eps):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, stride, 1, bias=True)
        self.norm = nn.InstanceNorm3d(cout, eps=eps, affine=True)
        self.nonlin = nn.LeakyReLU(slope, inplace=True)

    def forward(self, x):
        return self.nonlin(self.norm(self.conv(x)))


class StackedConvs(nn.Module):
    def __init__(self, n, cin, cout, stride, slope, eps):
        super().__init__()
        self.convs = nn.Sequential(*[ConvNormAct(cin if j == 0 else cout, cout, stride if j == 0 else 1, slope, eps)
                                     for j in range(n)])

    def forward(self, x):
        return self.convs(x)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        stages, cin = [], cfg["in_channels"]
        for s, f in enumerate(cfg["features"]):
            stages.append(nn.Sequential(StackedConvs(cfg["convs_per_stage"], cin, f, 1 if s == 0 else 2,
                                                     cfg["negative_slope"], cfg["norm_eps"])))
            cin = f
        self.stages = nn.Sequential(*stages)

    def forward(self, x):
        skips = []
        for st in self.stages:
            x = st(x)
            skips.append(x)
        return skips


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        f = cfg["features"]
        n = len(f)
        self.deep_supervision = cfg["deep_supervision"]
        self.transpconvs = nn.ModuleList([nn.ConvTranspose3d(f[n - 1 - s], f[n - 2 - s], 2, 2) for s in range(n - 1)])
        self.stages = nn.ModuleList([StackedConvs(cfg["convs_per_stage"], 2 * f[n - 2 - s], f[n - 2 - s], 1,
                                                  cfg["negative_slope"], cfg["norm_eps"]) for s in range(n - 1)])
        self.seg_layers = nn.ModuleList([nn.Conv3d(f[n - 2 - s], cfg["num_classes"], 1) for s in range(n - 1)])

    def forward(self, skips):
        x = skips[-1]
        outs = []
        for s in range(len(self.stages)):
            x = self.transpconvs[s](x)
            x = self.stages[s](torch.cat((x, skips[-(s + 2)]), 1))
            if self.deep_supervision:
                outs.append(self.seg_layers[s](x))
            elif s == len(self.stages) - 1:
                outs.append(self.seg_layers[-1](x))
        return outs[::-1]


class PlainConvUNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def soft_dice(logits, target, batch_dice, smooth=1e-5):
    """nnU-Net's MemoryEfficientSoftDiceLoss(softmax, batch_dice, do_bg=False, smooth)."""
    x = torch.softmax(logits, 1)[:, 1:]
    with torch.no_grad():
        onehot = torch.zeros_like(logits).scatter_(1, target[:, None], 1)[:, 1:]
    axes = tuple(range(2, x.ndim))
    intersect, sum_pred, sum_gt = (x * onehot).sum(axes), x.sum(axes), onehot.sum(axes)
    if batch_dice:
        intersect, sum_pred, sum_gt = intersect.sum(0), sum_pred.sum(0), sum_gt.sum(0)
    dc = (2 * intersect + smooth) / torch.clip(sum_gt + sum_pred + smooth, 1e-8)
    return -dc.mean()


def ds_weights(n):
    if n == 1:
        return [1.0]
    w = [1 / 2 ** i for i in range(n)]
    w[-1] = 0
    s = sum(w)
    return [v / s for v in w]


def ds_loss(outs, target, batch_dice=True):
    """Dice + CE on every output against the target resized by nearest-exact, nnU-Net's weights."""
    total = 0
    for w, o in zip(ds_weights(len(outs)), outs):
        if w == 0:
            continue
        t = target
        if o.shape[2:] != target.shape[1:]:
            t = F.interpolate(target[:, None].float(), size=o.shape[2:], mode="nearest-exact")[:, 0].long()
        total = total + w * (F.cross_entropy(o, t) + soft_dice(o, t, batch_dice))
    return total


def write_safetensors(path, tensors, metadata):
    """The safetensors format written from its specification (F32 only)."""
    header, parts, off = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        raw = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4")).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        parts.append(raw)
        off += len(raw)
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(parts))


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", e
        a = np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype="<f4").reshape(e["shape"])
        out[name] = torch.from_numpy(a.copy())
    return out, meta


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    feats = [int(v) for v in args.features.split(",")]
    cfg = dict(in_channels=1, num_classes=args.classes, features=feats, convs_per_stage=2,
               deep_supervision=True, negative_slope=0.01, norm_eps=1e-5)
    m = PlainConvUNet(cfg)
    opt = torch.optim.SGD(m.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    s = args.train_size
    x = torch.randn(args.batch, 1, s, s, s)
    y = torch.randint(0, args.classes, (args.batch, s, s, s))
    times = []
    for _ in range(args.reps + 1):
        t = time.perf_counter()
        opt.zero_grad()
        loss = ds_loss(m(x), y)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    train = min(times[1:])
    m.eval()
    m.decoder.deep_supervision = False
    s = args.infer_size
    xi = torch.randn(1, 1, s, s, s)
    times = []
    with torch.no_grad():
        for _ in range(args.reps + 1):
            t = time.perf_counter()
            m(xi)
            times.append(time.perf_counter() - t)
    infer = min(times[1:])
    print(json.dumps({"train_step_s": train, "infer_s": infer, "torch": torch.__version__,
                      "threads": torch.get_num_threads(),
                      "params": sum(p.numel() for p in m.parameters())}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", default="16,32,64,128,256")
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--train-size", type=int, default=64)
    ap.add_argument("--infer-size", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    bench(ap.parse_args())
