#!/usr/bin/env python3
"""PyTorch CPU (eager, fp32, eval mode) timings of the networks of convx-bench's chain mode.

The networks are written here from the same torchvision definitions as tests/nets.cpp
(ResNet-50 v1.5 with the stride on the 3x3, MobileNetV2 width 1.0, 1000 classes) so that no
torchvision download or package is needed; random weights (the timings do not depend on them).
Prints the chain mode's table columns and writes the same CSV columns as convx-bench, one row
per (network, batch): algo = torch_eager (and torch_eager_nhwc with --tag=nhwc: channels_last).

  /usr/bin/python3 perf/chain_torch.py --chain=resnet50,mobilenetv2 --mb=1,32 --hw=224 --csv=out.csv

(Debian's python3-torch installs into the system interpreter, /usr/bin/python3.) The GFLOP
count printed per network equals convx-bench's for the same --hw, a check that both sides build
the same layers.
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn

# ------------------------------------------------------------------ the networks


def conv_bn(inp, out, k, stride, pad, groups=1, act=None):
    layers = [nn.Conv2d(inp, out, k, stride, pad, groups=groups, bias=False), nn.BatchNorm2d(out)]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    def __init__(self, inp, width, stride):
        super().__init__()
        out = width * 4
        self.body = nn.Sequential(conv_bn(inp, width, 1, 1, 0, act=nn.ReLU(inplace=True)),
                                  conv_bn(width, width, 3, stride, 1, act=nn.ReLU(inplace=True)),
                                  conv_bn(width, out, 1, 1, 0))
        self.down = conv_bn(inp, out, 1, stride, 0) if stride != 1 or inp != out else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        return self.relu(self.body(x) + identity)


def resnet50():
    layers = [conv_bn(3, 64, 7, 2, 3, act=nn.ReLU(inplace=True)), nn.MaxPool2d(3, 2, 1)]
    inp = 64
    for s, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for i in range(blocks):
            layers.append(Bottleneck(inp, width, 2 if (i == 0 and s > 0) else 1))
            inp = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, t):
        super().__init__()
        hidden = inp * t
        layers = []
        if t != 1:
            layers.append(conv_bn(inp, hidden, 1, 1, 0, act=nn.ReLU6(inplace=True)))
        layers += [conv_bn(hidden, hidden, 3, stride, 1, groups=hidden, act=nn.ReLU6(inplace=True)),
                   conv_bn(hidden, out, 1, 1, 0)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and inp == out

    def forward(self, x):
        return x + self.body(x) if self.res else self.body(x)


def mobilenetv2():
    layers = [conv_bn(3, 32, 3, 2, 1, act=nn.ReLU6(inplace=True))]
    inp = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
            inp = c
    layers += [conv_bn(320, 1280, 1, 1, 0, act=nn.ReLU6(inplace=True)), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Dropout(0.2), nn.Linear(1280, 1000)]
    return nn.Sequential(*layers)


NETS = {"resnet50": resnet50, "mobilenetv2": mobilenetv2}


def conv_flops(model, x):
    """Multiply-adds x2 of the convolutions and linear layers (the bench's GFLOP/s basis)."""
    total = [0.0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += 2.0 * out.numel() * k
        elif isinstance(m, nn.Linear):
            total[0] += 2.0 * out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chain", default="resnet50,mobilenetv2")
    ap.add_argument("--mb", default="1")
    ap.add_argument("--hw", type=int, default=224)
    ap.add_argument("--tag", default="nchw", choices=("nchw", "nhwc"))
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch's default)")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--csv", default="")
    a = ap.parse_args()

    torch.backends.cudnn.allow_tf32 = False  # the comparison is plain fp32 (irrelevant on the CPU, stated for the GPU)
    torch.backends.cuda.matmul.allow_tf32 = False
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    algo = "torch_eager" + ("_nhwc" if a.tag == "nhwc" else "")
    fmt = torch.channels_last if a.tag == "nhwc" else torch.contiguous_format
    print(f"chain_torch: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads; {a.warmup} warm-up + at least {a.iters} timed runs and {a.min_time} s, median")
    rows = []
    for name in a.chain.split(","):
        for mb in [int(v) for v in a.mb.split(",")]:
            model = NETS[name]().eval().to(memory_format=fmt)
            x = (torch.rand(mb, 3, a.hw, a.hw) * 2 - 1).contiguous(memory_format=fmt)
            flops = conv_flops(model, x)
            times = []
            with torch.inference_mode():
                for _ in range(a.warmup):
                    model(x)
                total = 0.0
                while len(times) < a.iters or total < a.min_time:
                    t0 = time.perf_counter()
                    model(x)
                    times.append((time.perf_counter() - t0) * 1e3)
                    total += times[-1] / 1e3
            med, mn = statistics.median(times), min(times)
            problem = f"{name} mb{mb} hw{a.hw} {a.tag} f32"
            print(f"[chain] {problem}: {flops * 1e-9:.4g} GFLOP (convolutions and fc)")
            print(f"  {'algo':<24} {'median ms':>10} {'min ms':>11} {'GFLOP/s':>10}")
            print(f"  {algo:<24} {med:10.4f} {mn:11.4f} {flops / (med * 1e6):10.2f}\n")
            rows.append((problem, name, algo, med, mn, flops / (med * 1e6), len(times)))
    if a.csv:
        with open(a.csv, "w") as f:
            f.write(f"# tool: chain_torch.py (torch {torch.__version__})\n# device: {platform.processor() or platform.machine()}, "
                    f"{os.cpu_count()} cores\n# threads: {torch.get_num_threads()}\n"
                    f"# date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
                    f"# command: {' '.join(sys.argv)}\n")
            f.write("problem,name,direction,algo,backend,median_ms,min_ms,gflops,gbps,speedup_vs_baseline,rel_err,check,"
                    "baseline,is_baseline,runs,workspace_bytes,status,message,baseline2,speedup_vs_baseline2,roofline_pct,note\n")
            for problem, name, algo_, med, mn, gf, runs in rows:
                f.write(f"{problem},{name},fwd,{algo_},cpu,{med:.6g},{mn:.6g},{gf:.6g},,,,off,,0,{runs},0,ok,"
                        f"eval mode; inference_mode; fp32,,,,\n")
        print(f"wrote {a.csv}")


if __name__ == "__main__":
    main()
