#!/usr/bin/python3
"""Write the PyTorch fixtures that nn's layer, loss and optimiser tests compare against.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 nn/testdata/make_layer_fixtures.py

Layers and losses go to nn/testdata/layers/<case>_<part>.npy, optimiser
trajectories to nn/optim/testdata/<case>_<part>.npy. Inputs are drawn as
float32 and stored as float32; PyTorch computes the outputs and gradients in
float64 from those exact values, so the fixtures are the true values rounded
once. Label maps are stored as int64.

The soft Dice loss is written out below from nnU-Net's
MemoryEfficientSoftDiceLoss (do_bg=False, smooth=1e-5), and deep supervision
from its DeepSupervisionWrapper and DownsampleSegForDSTransform (nearest-exact).
"""
import os
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS = os.path.join(HERE, "layers")
OPTIM = os.path.join(HERE, "..", "optim", "testdata")

g = torch.Generator().manual_seed(20261128)


def randn(*shape, scale=1.0, shift=0.0):
    return (torch.randn(*shape, generator=g) * scale + shift).float()


def save(d, name, part, t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if a.dtype.kind == "f":
        a = a.astype("<f4")
    else:
        a = a.astype("<i8")
    np.save(os.path.join(d, f"{name}_{part}.npy"), np.ascontiguousarray(a))


def leaf(t):
    return t.double().requires_grad_(True)


def instance_norm(name, fused):
    x = randn(2, 3, 4, 5, 6, scale=2.0, shift=1.5)
    w = randn(3, scale=0.5, shift=1.0)
    b = randn(3, scale=0.5)
    gy = randn(2, 3, 4, 5, 6)
    xd, wd, bd = leaf(x), leaf(w), leaf(b)
    y = F.instance_norm(xd, weight=wd, bias=bd, eps=1e-5)
    if fused:
        y = F.leaky_relu(y, 0.01)
    y.backward(gy.double())
    for part, t in [("x", x), ("w", w), ("b", b), ("gy", gy), ("y", y), ("gx", xd.grad), ("gw", wd.grad), ("gb", bd.grad)]:
        save(LAYERS, name, part, t)


def activation(name, slope):
    x = randn(2, 3, 3, 4, 5)
    gy = randn(2, 3, 3, 4, 5)
    xd = leaf(x)
    y = F.leaky_relu(xd, slope) if slope else F.relu(xd)
    y.backward(gy.double())
    for part, t in [("x", x), ("gy", gy), ("y", y), ("gx", xd.grad)]:
        save(LAYERS, name, part, t)


def concat():
    a, b = randn(2, 3, 2, 3, 4), randn(2, 5, 2, 3, 4)
    gy = randn(2, 8, 2, 3, 4)
    ad, bd = leaf(a), leaf(b)
    y = torch.cat([ad, bd], 1)
    y.backward(gy.double())
    for part, t in [("a", a), ("b", b), ("gy", gy), ("y", y), ("ga", ad.grad), ("gb", bd.grad)]:
        save(LAYERS, "concat", part, t)


def softmax():
    x = randn(2, 4, 3, 4, 5, scale=2.0)
    gy = randn(2, 4, 3, 4, 5)
    xd = leaf(x)
    y = torch.softmax(xd, 1)
    y.backward(gy.double())
    for part, t in [("x", x), ("gy", gy), ("y", y), ("gx", xd.grad)]:
        save(LAYERS, "softmax", part, t)


def soft_dice(logits, target, batch_dice, smooth=1e-5):
    """nnU-Net's MemoryEfficientSoftDiceLoss(apply_nonlin=softmax, batch_dice, do_bg=False, smooth)."""
    x = torch.softmax(logits, 1)[:, 1:]
    onehot = torch.zeros_like(logits).scatter_(1, target[:, None], 1)[:, 1:]
    axes = tuple(range(2, x.ndim))
    intersect = (x * onehot).sum(axes)
    sum_pred = x.sum(axes)
    sum_gt = onehot.sum(axes)
    if batch_dice:
        intersect, sum_pred, sum_gt = intersect.sum(0), sum_pred.sum(0), sum_gt.sum(0)
    dc = (2 * intersect + smooth) / torch.clip(sum_gt + sum_pred + smooth, 1e-8)
    return -dc.mean()


def dice_ce(logits, target, batch_dice):
    return F.cross_entropy(logits, target) + soft_dice(logits, target, batch_dice)


def loss_case(name, fn, shape=(2, 3, 4, 5, 6)):
    x = randn(*shape, scale=2.0)
    t = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=g)
    xd = leaf(x)
    loss = fn(xd, t)
    loss.backward()
    for part, v in [("x", x), ("t", t), ("loss", loss), ("gx", xd.grad)]:
        save(LAYERS, name, part, v)


def deep_supervision():
    """Three outputs (8^3, 4^3, 2^3 with 3 classes) against an 8^3 target."""
    n_out = 3
    w = np.array([1 / 2 ** i for i in range(n_out)])
    w[-1] = 0
    w = w / w.sum()
    t = torch.randint(0, 3, (2, 8, 8, 8), generator=g)
    total = 0
    leaves = []
    for i in range(n_out):
        s = 8 >> i
        x = randn(2, 3, s, s, s, scale=2.0)
        xd = leaf(x)
        leaves.append((x, xd))
        ti = F.interpolate(t[:, None].double(), size=(s, s, s), mode="nearest-exact")[:, 0].long()
        save(LAYERS, "ds", f"t{i}", ti)
        total = total + w[i] * dice_ce(xd, ti, batch_dice=True)
    total.backward()
    save(LAYERS, "ds", "t", t)
    save(LAYERS, "ds", "loss", total)
    save(LAYERS, "ds", "w", torch.tensor(w))
    for i, (x, xd) in enumerate(leaves):
        save(LAYERS, "ds", f"x{i}", x)
        save(LAYERS, "ds", f"gx{i}", xd.grad if xd.grad is not None else torch.zeros_like(xd))


def optimiser(name, make, steps=4):
    """A 3x5 parameter updated with fixed gradients; the LR changes at step 3."""
    p0 = randn(3, 5)
    grads = randn(steps, 3, 5)
    p = torch.nn.Parameter(p0.double().clone())
    opt = make([p])
    traj = []
    for s in range(steps):
        if s == 2:
            for group in opt.param_groups:
                group["lr"] *= 0.5
        p.grad = grads[s].double().clone()
        opt.step()
        traj.append(p.detach().clone())
    save(OPTIM, name, "p0", p0)
    save(OPTIM, name, "grads", grads)
    save(OPTIM, name, "traj", torch.stack(traj))


def main():
    os.makedirs(LAYERS, exist_ok=True)
    os.makedirs(OPTIM, exist_ok=True)
    instance_norm("instnorm", False)
    instance_norm("instnorm_lrelu", True)
    activation("lrelu", 0.01)
    activation("relu", 0.0)
    concat()
    softmax()
    loss_case("ce", lambda x, t: F.cross_entropy(x, t))
    loss_case("dice_batch", lambda x, t: soft_dice(x, t, True))
    loss_case("dice_sample", lambda x, t: soft_dice(x, t, False))
    loss_case("dicece_batch", lambda x, t: dice_ce(x, t, True))
    loss_case("dicece_sample", lambda x, t: dice_ce(x, t, False), shape=(3, 4, 3, 4, 5))
    deep_supervision()
    optimiser("sgd_nesterov", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.03))
    optimiser("sgd_plain", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.0, weight_decay=0.0))
    optimiser("sgd_damp", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.01))
    optimiser("adam", lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1))
    optimiser("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.2))


if __name__ == "__main__":
    main()
