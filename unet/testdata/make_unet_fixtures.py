#!/usr/bin/python3
"""Write the PyTorch fixtures that unet's tests compare against.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 unet/testdata/make_unet_fixtures.py

A 4-stage network (features 4-8-16-32, 3 classes, deep supervision) with
random weights (stored as initial.safetensors, with otoseg's metadata) runs on
a 2x1x16^3 input x against a label map t (as float). PyTorch, in float64,
gives the three outputs out<i> and the deep-supervision Dice+CE loss (all in
io.safetensors), every parameter's gradient (grads.safetensors) and the
weights after one SGD step (lr 1e-2, momentum 0.99, Nesterov, weight decay
3e-5; stepped.safetensors). Everything is safetensors so the Go tests read it
with the engine's own loader.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import torch_unet as tu  # noqa: E402

CFG = dict(in_channels=1, num_classes=3, features=[4, 8, 16, 32], convs_per_stage=2,
           deep_supervision=True, negative_slope=0.01, norm_eps=1e-5)


def main():
    g = torch.Generator().manual_seed(20261128)
    m = tu.PlainConvUNet(CFG)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[1] * int(np.prod(p.shape[2:]))
                p.copy_(torch.randn(p.shape, generator=g) * (2 / fan_in) ** 0.5)
    meta = {"format": "pt", "model": "PlainConvUNet", "version": "1", "architecture": json.dumps(CFG)}
    tu.write_safetensors(os.path.join(HERE, "initial.safetensors"), dict(m.named_parameters()), meta)

    x = torch.randn(2, 1, 16, 16, 16, generator=g).float()
    # A blob in each sample so every class is present at every level.
    zz, yy, xx = torch.meshgrid(*[torch.arange(16)] * 3, indexing="ij")
    r = ((zz - 7.5) ** 2 + (yy - 6.5) ** 2 + (xx - 8.5) ** 2).sqrt()
    t = torch.stack([(r < 3).long() * 2 + ((r >= 3) & (r < 6)).long(), (r < 5).long()])

    m = m.double()
    outs = m(x.double())
    loss = tu.ds_loss(outs, t)
    loss.backward()
    io = {"x": x, "t": t.float(), "loss": loss.detach().reshape(1)}
    for i, o in enumerate(outs):
        io[f"out{i}"] = o
    tu.write_safetensors(os.path.join(HERE, "io.safetensors"), io, {})
    grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in m.named_parameters()}
    tu.write_safetensors(os.path.join(HERE, "grads.safetensors"), grads, {})
    opt = torch.optim.SGD(m.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    opt.step()
    tu.write_safetensors(os.path.join(HERE, "stepped.safetensors"), dict(m.named_parameters()), {})


if __name__ == "__main__":
    main()
