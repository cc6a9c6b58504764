#!/usr/bin/python3
"""Write the PyTorch fixtures that nn's convolution tests compare against.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 nn/testdata/make_conv_fixtures.py

For every case it stores, as little-endian float32 .npy files under
nn/testdata/conv/: the input x, weight w, bias b (when the layer has one), an
upstream gradient gy, and what PyTorch computes from them: the output y and
the gradients gx, gw, gb. Inputs are drawn as float32; the outputs are
computed in float64 from those exact float32 values, so the fixtures are the
convolution's true values rounded once.
"""
import os
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv")

# name, kind, N, Cin, Cout, kernel, stride, bias, (D, H, W)
CASES = [
    ("k3s1",        "conv", 2, 3, 5, 3, 1, True,  (5, 6, 7)),
    ("k3s1_wide",   "conv", 1, 1, 8, 3, 1, False, (3, 4, 18)),
    ("k3s1_odd",    "conv", 1, 17, 19, 3, 1, True, (3, 5, 20)),
    ("k3s1_c32",    "conv", 1, 32, 16, 3, 1, True, (4, 3, 16)),
    ("k3s2_odd",    "conv", 1, 4, 3, 3, 2, True,  (7, 5, 9)),
    ("k3s2_even",   "conv", 2, 5, 9, 3, 2, False, (8, 6, 4)),
    ("k3s2_wide",   "conv", 1, 8, 16, 3, 2, True, (3, 4, 37)),
    ("k1",          "conv", 2, 6, 2, 1, 1, True,  (4, 5, 3)),
    ("k1_wide",     "conv", 1, 16, 3, 1, 1, True, (2, 3, 21)),
    ("up",          "up",   1, 6, 4, 2, 2, True,  (3, 5, 4)),
    ("up_odd",      "up",   2, 3, 9, 2, 2, True,  (2, 3, 17)),
    ("up_c32",      "up",   1, 32, 16, 2, 2, True, (2, 2, 8)),
]


def save(name, part, t):
    np.save(os.path.join(OUT, f"{name}_{part}.npy"),
            np.ascontiguousarray(t.detach().numpy().astype("<f4")))


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261128)
    for name, kind, n, cin, cout, k, s, bias, (d, h, w) in CASES:
        x = torch.randn(n, cin, d, h, w, generator=g, dtype=torch.float32)
        if kind == "conv":
            layer = torch.nn.Conv3d(cin, cout, k, s, k // 2, bias=bias)
        else:
            layer = torch.nn.ConvTranspose3d(cin, cout, 2, 2, bias=bias)
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
    print("wrote", len(CASES), "cases to", OUT)


if __name__ == "__main__":
    main()
