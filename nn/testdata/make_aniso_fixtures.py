#!/usr/bin/python3
"""Write the PyTorch fixtures for nn's anisotropic (general-path) layers.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 nn/testdata/make_aniso_fixtures.py

Same layout as make_conv_fixtures.py (x, w, b, gy, y, gx, gw, gb as float32
.npy under nn/testdata/aniso/), for the per-axis kernels and strides nnU-Net
plans for thick-slice scans: Conv3d with kernel_size (1,3,3) and stride
(1,2,2) and the like, and ConvTranspose3d whose kernel equals its stride
(1,2,2). Outputs are computed in float64 from the float32 inputs.
"""
import os
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aniso")

# name, kind, N, Cin, Cout, kernel, stride, bias, (D, H, W)
CASES = [
    ("k133s1",    "conv", 2, 3, 5, (1, 3, 3), (1, 1, 1), True,  (4, 6, 7)),
    ("k133s122",  "conv", 1, 4, 6, (1, 3, 3), (1, 2, 2), True,  (3, 7, 8)),
    ("k313s212",  "conv", 1, 3, 2, (3, 1, 3), (2, 1, 2), False, (5, 4, 6)),
    ("k3s122",    "conv", 2, 2, 4, (3, 3, 3), (1, 2, 2), True,  (4, 6, 5)),
    ("up122",     "up",   1, 6, 4, (1, 2, 2), (1, 2, 2), True,  (3, 5, 4)),
    ("up212",     "up",   2, 3, 5, (2, 1, 2), (2, 1, 2), True,  (2, 3, 4)),
]


def save(name, part, t):
    np.save(os.path.join(OUT, f"{name}_{part}.npy"),
            np.ascontiguousarray(t.detach().numpy().astype("<f4")))


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261207)
    for name, kind, n, cin, cout, k, s, bias, (d, h, w) in CASES:
        x = torch.randn(n, cin, d, h, w, generator=g, dtype=torch.float32)
        if kind == "conv":
            layer = torch.nn.Conv3d(cin, cout, k, s, [(i - 1) // 2 for i in k], bias=bias)
        else:
            layer = torch.nn.ConvTranspose3d(cin, cout, k, s, bias=bias)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * 0.5)
            if bias:
                layer.bias.copy_(torch.randn(layer.bias.shape, generator=g))
        w32 = layer.weight.detach().clone()
        b32 = layer.bias.detach().clone() if bias else None
        layer = layer.double()
        xd = x.double().requires_grad_(True)
        y = layer(xd)
        gy = torch.randn(y.shape, generator=g, dtype=torch.float32)
        y.backward(gy.double())
        save(name, "x", x)
        save(name, "w", w32)
        if bias:
            save(name, "b", b32)
            save(name, "gb", layer.bias.grad)
        save(name, "y", y)
        save(name, "gy", gy)
        save(name, "gx", xd.grad)
        save(name, "gw", layer.weight.grad)
        np.save(os.path.join(OUT, f"{name}_stride.npy"), np.array(s, dtype="<f4"))
    print("wrote", len(CASES), "cases to", OUT)


if __name__ == "__main__":
    main()
