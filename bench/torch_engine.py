"""PyTorch side of `otoseg bench engine`: the same work as the Go side,
timed the same way, printed as one JSON object on stdout.

Usage: python3 torch_engine.py THREADS REPS PARTS [CLOCK]
PARTS is a comma list of: conv (the three 3x3x3 convolution shapes),
unet (a training step on 2x1x64^3 and an inference on 1x1x96^3).
CLOCK is wall (default) or cpu (process CPU time, for single-threaded runs
on a busy machine).
Each figure is the median of REPS timed runs after one untimed warm-up.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn

threads, reps, parts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
clock = time.process_time if len(sys.argv) > 4 and sys.argv[4] == "cpu" else time.perf_counter
torch.set_num_threads(threads)
torch.manual_seed(0)


def timed(fn):
    fn()
    runs = []
    for _ in range(reps):
        t0 = clock()
        fn()
        runs.append(clock() - t0)
    return statistics.median(runs)


def conv_shapes():
    out = []
    for size, ch in ((48, 16), (32, 32), (16, 64)):
        layer = nn.Conv3d(ch, ch, 3, padding=1, bias=False)
        x = torch.randn(1, ch, size, size, size, requires_grad=True)
        work = 2.0 * ch * ch * 27 * size ** 3

        def fwd():
            with torch.no_grad():
                layer(x)

        def fwd_bwd():
            y = layer(x)
            y.backward(y.detach())

        for name, fn, mult in (("fwd", fwd, 1), ("fwd+bwd", fwd_bwd, 3)):
            s = timed(fn)
            out.append({"shape": f"{size}^3x{ch}", "pass": name, "seconds": s, "gflops": mult * work / s / 1e9})
    return out


def stage(cin, cout, stride):
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, stride, 1), nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.01, True),
        nn.Conv3d(cout, cout, 3, 1, 1), nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.01, True))


class Net(nn.Module):
    """Five-stage U-Net, 16..256 features, two classes, no deep supervision."""

    def __init__(self, feats=(16, 32, 64, 128, 256), classes=2):
        super().__init__()
        self.down = nn.ModuleList(stage(feats[i - 1] if i else 1, f, 2 if i else 1) for i, f in enumerate(feats))
        self.up = nn.ModuleList(nn.ConvTranspose3d(feats[i + 1], feats[i], 2, 2) for i in range(len(feats) - 1))
        self.merge = nn.ModuleList(stage(2 * feats[i], feats[i], 1) for i in range(len(feats) - 1))
        self.head = nn.Conv3d(feats[0], classes, 1)

    def forward(self, x):
        skips = []
        for s in self.down:
            x = s(x)
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(len(self.up))):
            x = self.merge[i](torch.cat([self.up[i](x), skips.pop()], 1))
        return self.head(x)


def unet():
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True)
    loss = nn.CrossEntropyLoss()
    x = torch.randn(2, 1, 64, 64, 64)
    target = torch.randint(0, 2, (2, 64, 64, 64))

    def step():
        opt.zero_grad()
        loss(net(x), target).backward()
        opt.step()

    train = timed(step)
    net.eval()
    xi = torch.randn(1, 1, 96, 96, 96)

    def infer():
        with torch.no_grad():
            net(xi)

    return {"train_step_s": train, "infer96_s": timed(infer)}


result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
if "conv" in parts:
    result["conv"] = conv_shapes()
if "unet" in parts:
    result["unet"] = unet()
print(json.dumps(result))
