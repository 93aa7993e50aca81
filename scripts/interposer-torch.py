#!/usr/bin/env python3
"""PyTorch through libconvx_cudnn.so (docs/interposer.md), for a machine with a GPU.

    scripts/interposer-torch.py [path/to/libconvx_cudnn.so]     (default: build*/interposer/)

Re-runs itself with LD_PRELOAD=<lib>, TORCH_CUDNN_V8_API_DISABLED=1 (PyTorch's legacy cuDNN
path, the one the interposer intercepts) and CONVX_LOG=1, then runs conv2d, a strided
channels_last conv2d, conv_transpose2d, a channels_last depthwise conv and a dilated conv,
forward and backward, on the GPU and on the CPU, with TF32 off, once with cudnn.benchmark off
(Get_v7 path) and once on (Find path). Every GPU result must match the CPU within fp32
rounding, and the interposer's counters must show that convx ran convolutions.
Exit status: 0 pass, 1 fail, 77 skipped (no CUDA device or no interposer library).
"""
import ctypes
import glob
import os
import sys


def find_library():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = sorted(glob.glob(os.path.join(root, "build*", "interposer", "libconvx_cudnn.so")))
    return found[0] if found else None


def relaunch():
    lib = find_library()
    if not lib or not os.path.exists(lib):
        print("CONVX-SKIP: libconvx_cudnn.so not found (build it, or pass its path)")
        sys.exit(77)
    env = dict(os.environ, LD_PRELOAD=lib, TORCH_CUDNN_V8_API_DISABLED="1", CONVX_LOG="1", CONVX_TORCH_CHILD="1")
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def counters():
    fn = ctypes.CDLL(None).convxInterposerCounters  # the preloaded library is in the global scope
    vals = [ctypes.c_ulonglong(0) for _ in range(3)]
    fn(*[ctypes.byref(v) for v in vals])
    return [v.value for v in vals]  # handled calls, convolutions run by convx, passed through


def main():
    if os.environ.get("CONVX_TORCH_CHILD") != "1":
        relaunch()
    import torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        print("CONVX-SKIP: no CUDA device")
        return 77
    try:
        counters()
    except AttributeError:
        print("FAIL: convxInterposerCounters not found: the preload did not load")
        return 1
    torch.backends.cudnn.allow_tf32 = False  # FMA math on both sides: an fp32-exact comparison
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)

    cases = [
        # name, input shape, weight shape, op(x, w), channels_last
        ("conv2d 3x3", (4, 16, 20, 20), (32, 16, 3, 3), lambda x, w: F.conv2d(x, w, padding=1), False),
        ("conv2d 3x3 s2 channels_last", (4, 16, 21, 19), (24, 16, 3, 3), lambda x, w: F.conv2d(x, w, stride=2, padding=1), True),
        ("conv_transpose2d k4 s2", (4, 16, 9, 9), (16, 8, 4, 4), lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1), False),
        ("depthwise 3x3 channels_last", (4, 32, 17, 17), (32, 1, 3, 3), lambda x, w: F.conv2d(x, w, padding=1, groups=32), True),
        ("dilated 3x3 d2", (2, 16, 24, 24), (16, 16, 3, 3), lambda x, w: F.conv2d(x, w, padding=2, dilation=2), False),
    ]
    failures = 0
    for benchmark in (False, True):
        torch.backends.cudnn.benchmark = benchmark
        for name, xs, ws, op, channels_last in cases:
            x = torch.randn(xs)
            w = torch.randn(ws) / (ws[1] * ws[2] * ws[3]) ** 0.5
            xc, wc = x.clone().requires_grad_(), w.clone().requires_grad_()
            y = op(xc, wc)
            gy = torch.randn_like(y)
            y.backward(gy)
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            xg = x.cuda().to(memory_format=fmt).requires_grad_()
            wg = w.cuda().to(memory_format=fmt).requires_grad_()
            yg = op(xg, wg)
            yg.backward(gy.cuda().to(memory_format=fmt))
            torch.cuda.synchronize()
            for what, ref, got in (("y", y, yg), ("dx", xc.grad, xg.grad), ("dw", wc.grad, wg.grad)):
                err = (got.detach().cpu() - ref.detach()).abs().max().item()
                scale = ref.detach().abs().max().item() + 1e-30
                ok = err <= 1e-4 * scale
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} benchmark={benchmark} {name} {what}: max error {err:.3g} (scale {scale:.3g})")
    handled, run, passed = counters()
    print(f"interposer counters: handled {handled}, convolutions run by convx {run}, passed through {passed}")
    if run == 0:
        print("FAIL: convx ran no convolution (PyTorch's graph API path? TORCH_CUDNN_V8_API_DISABLED=1 is set here)")
        failures += 1
    print("OK" if not failures else f"FAIL: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
