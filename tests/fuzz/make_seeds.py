#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_descriptors (tests/fuzz/corpus/fuzz_descriptors/*.bin).

The encoding is the one fuzz_descriptors.cpp reads: an opcode byte, then the op's operands;
ints are one byte v+1 for -1 <= v <= 222, or 0xFF and a little-endian int32. Keep the opcode
numbers below in step with `enum Op` there. Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import os
import struct

OPS = [
    "CreateTensor", "DestroyTensor", "SetTensor4d", "SetTensor4dEx", "SetTensorNd", "SetTensorNdEx", "GetTensor4d",
    "GetTensorNd", "GetTensorSize", "CreateFilter", "DestroyFilter", "SetFilter4d", "SetFilterNd", "GetFilter4d",
    "GetFilterNd", "GetFilterSize", "CreateConv", "DestroyConv", "SetConv2d", "SetConvNd", "GetConv2d", "GetConvNd",
    "SetGroupCount", "GetGroupCount", "SetMathType", "GetMathType", "OutputDim2d", "OutputDimNd", "AlgoMaxCount",
    "GetAlgorithms", "WorkspaceSize", "Execute", "HandleOp", "Misc", "SetupProblem", "TransposeOutputDim2d",
    "TransposeOutputDimNd", "TransposeWorkspaceSize", "TransposeExecute", "Gconv",
]
OP = {name: i for i, name in enumerate(OPS)}


def i(v):
    """One int operand."""
    if -1 <= v <= 222:
        return bytes([v + 1])
    return b"\xff" + struct.pack("<i", v)


def op(name, *parts):
    return bytes([OP[name]]) + b"".join(p if isinstance(p, bytes) else bytes([p]) for p in parts)


FLOAT, DOUBLE, HALF, BF16 = 0, 1, 2, 9
NCHW, NHWC = 0, 1
XCORR, CONV = 1, 0
SLOT0, SLOT1, SLOT2, SLOT3 = 0, 1, 2, 3   # pointer operands: slots 0..3
NULL, FOREIGN = 4, 7


def execute(direction, algo=0, flags=0, seed=0, find=False, x=SLOT0, w=SLOT0, conv=SLOT0, y=SLOT1):
    mode = direction + (9 if find else 0)
    return op("Execute", mode, 0, x, w, conv, y, i(algo), flags, seed)


def transpose(algo=0, flags=0, seed=0, x=SLOT1, w=SLOT0, conv=SLOT0, y=SLOT0):
    """A ConvTranspose call; by default of setup()'s problem: its forward y (slot 1) is the
    ConvTranspose's x, its forward x (slot 0) the ConvTranspose's y."""
    return op("TransposeExecute", 0, 0, x, w, conv, y, i(algo), flags, seed)


def setup(nsp, dtype_index, fmts, g, cg, kg, n, spatial):
    """spatial: per dim (in - 1, ker - 1, pad, stride - 1, dil - 1), the raw operand bytes."""
    shape = (nsp - 1) + 4 * dtype_index
    body = bytes([shape, fmts, g - 1, cg - 1, kg - 1, n - 1])
    for s in spatial:
        body += bytes(s)
    return op("SetupProblem", body)


def explicit_2d(dt=FLOAT, fmt=NCHW):
    """The cuDNN-style sequence a user writes: 4d descriptors, output dim query, forward."""
    return (op("CreateTensor", 0) + op("CreateTensor", 1) + op("CreateFilter", 0) + op("CreateConv", 0) +
            op("SetTensor4d", SLOT0, i(fmt), i(dt), i(1), i(3), i(8), i(8)) +
            op("SetFilter4d", SLOT0, i(dt), i(fmt), i(4), i(3), i(3), i(3)) +
            op("SetConv2d", SLOT0, i(1), i(1), i(1), i(1), i(1), i(1), i(XCORR), i(DOUBLE if dt == DOUBLE else FLOAT)) +
            op("OutputDim2d", SLOT0, SLOT0, SLOT0, 0) +
            op("SetTensor4d", SLOT1, i(fmt), i(dt), i(1), i(4), i(8), i(8)) +
            op("GetAlgorithms", 0, 0, SLOT0, SLOT0, SLOT0, SLOT1, i(4), 0) +
            op("WorkspaceSize", 0, 0, SLOT0, SLOT0, SLOT0, SLOT1, i(0), 0) +
            execute(0) + execute(1, flags=8) + execute(2, flags=16) +
            op("Misc", i(2002), 40))


def gconv(sub, *parts):
    """A GCONV op: sub 0 create, 1 destroy, 2 Nd geometry, 3 geometry from a convolution, 4 window,
    5 pad value, 6 map/reduce, 7 pre (0) / post (1) op, 8 combine, 9 a call (0 output dim,
    1 workspace size, 2 forward)."""
    return op("Gconv", sub, *parts)


def gconv_forward(flags=0, seed=0, g=SLOT0, x=SLOT0, w=SLOT0, z=NULL, y=SLOT1):
    return gconv(9, 2, 0, g, x, w, z, y, flags, seed)


SEEDS = {
    "explicit_2d_f32.bin": explicit_2d(),
    "explicit_2d_f64_nhwc.bin": explicit_2d(DOUBLE, NHWC),
    # 2-D, f32, 2 groups, stride 2, pad 1: all three directions, then Find.
    "grouped_strided.bin": setup(2, 0, 0, 2, 2, 3, 2, [(6, 2, 1, 1, 0), (5, 2, 1, 1, 0)]) +
                           execute(0) + execute(1) + execute(2) + execute(0, find=True, flags=3),
    # 1-D f16, dilation 2, convolution mode, NHWC x.
    "conv1d_f16_dilated.bin": setup(1, 4, 1 | 4, 1, 3, 2, 1, [(6, 2, 2, 0, 1)]) +
                              execute(0, algo=1) + execute(1, algo=1) + execute(2, algo=1),
    # 3-D bf16 depthwise.
    "conv3d_bf16_depthwise.bin": setup(3, 5, 2, 3, 1, 1, 1, [(3, 2, 1, 0, 0), (3, 2, 1, 0, 0), (4, 2, 1, 0, 0)]) +
                                 execute(0) + execute(2, flags=8),
    # Strided (padded-row) y, beta = 1.
    "strided_y_beta.bin": setup(2, 0, 8, 1, 2, 2, 1, [(4, 1, 0, 0, 0), (4, 1, 0, 0, 0)]) + execute(0, flags=8) +
                          execute(1, flags=8),
    # A thread count the library must cap (OpenMP cannot create INT_MAX threads).
    "threads_capped.bin": setup(2, 0, 0, 1, 2, 2, 1, [(5, 2, 1, 0, 0), (5, 2, 1, 0, 0)]) +
                          op("HandleOp", 5, 0, i(2**31 - 1)) + execute(0) + execute(2),
    # ConvTranspose: size queries (output_padding 1 along the stride-2 dim; one >= stride, one
    # negative), the workspace, then the call, plain and accumulating, and into a y of the
    # wrong size.
    "transpose_2d.bin": setup(2, 0, 0, 2, 2, 3, 2, [(6, 2, 1, 1, 0), (5, 2, 1, 0, 1)]) +
                        op("TransposeOutputDim2d", SLOT0, SLOT1, SLOT0, i(1), i(0), 0) +
                        op("TransposeOutputDim2d", SLOT0, SLOT1, SLOT0, i(0), i(1), 0) +
                        op("TransposeOutputDimNd", SLOT0, SLOT1, SLOT0, i(4), 0, i(1), i(0), i(0)) +
                        op("TransposeOutputDimNd", SLOT0, SLOT1, SLOT0, i(4), 2, i(0), i(0), i(0)) +
                        op("TransposeOutputDimNd", SLOT0, SLOT1, SLOT0, i(4), 0, i(-1), i(0), i(0)) +
                        op("TransposeWorkspaceSize", 0, SLOT1, SLOT0, SLOT0, SLOT0, i(0), 0) +
                        transpose() + transpose(flags=8) + transpose(algo=1, flags=2) +
                        op("SetTensor4d", SLOT0, i(NCHW), i(FLOAT), i(2), i(4), i(9), i(6)) + transpose(),
    # GCONV: setup()'s 3x3 pad-1 convolution with a post affine + ReLU6 and a residual z (y's own
    # descriptor), then 3x3 max pooling without a filter (groups = C, window from the
    # descriptor), MEAN, a pre op, out-of-range enums, a destroyed descriptor.
    "gconv.bin": setup(2, 0, 0, 1, 2, 2, 1, [(5, 2, 1, 0, 0), (4, 2, 1, 0, 0)]) +
                 gconv(0, 0) + gconv(3, SLOT0, SLOT0) + gconv(9, 0, SLOT0, SLOT0, SLOT0, i(4), 0) +
                 gconv(9, 1, 0, SLOT0, SLOT0, SLOT0, SLOT1, 0) + gconv_forward() +
                 gconv(7, SLOT0, 1, i(3), i(0), i(1)) + gconv(8, SLOT0, i(1)) + gconv_forward(z=SLOT1, flags=8) +
                 gconv(0, 1) + gconv(2, SLOT1, i(2), 0, i(1), i(1), i(1), i(1), i(1), i(1), i(2), i(XCORR), i(FLOAT)) +
                 gconv(4, SLOT1, i(2), 0, i(3), i(3)) + gconv(6, SLOT1, i(2), i(1)) + gconv_forward(g=SLOT1, w=NULL) +
                 gconv(6, SLOT1, i(2), i(3)) + gconv(7, SLOT1, 0, i(8), i(-6), i(1)) + gconv_forward(g=SLOT1, w=NULL, flags=6) +
                 gconv(6, SLOT1, i(7), i(1)) + gconv(7, SLOT1, 1, i(11), i(0), i(0)) + gconv(5, SLOT1, i(222)) +
                 gconv_forward(g=SLOT1, w=SLOT0) + gconv(1, SLOT1) + gconv_forward(g=SLOT1, w=NULL),
    # Misuse: destroyed, NULL and foreign descriptors, a bad algo, a short workspace, misaligned x.
    "misuse.bin": setup(2, 0, 0, 1, 1, 1, 1, [(3, 1, 1, 0, 0), (3, 1, 1, 0, 0)]) +
                  execute(0, algo=7) + execute(0, flags=1 | (1 << 5)) + execute(0, x=NULL) + execute(0, y=FOREIGN) +
                  op("DestroyTensor", SLOT1) + execute(0) + op("DestroyTensor", SLOT1) +
                  op("SetTensorNd", SLOT2, i(FLOAT), i(9), 0, *[i(2)] * 16) +
                  op("SetTensorNd", SLOT0, i(FLOAT), i(4), 3, *[i(1)] * 8) +
                  op("SetConvNd", SLOT0, i(4), 0, *[i(1)] * 12, i(XCORR), i(FLOAT)) + op("GetTensorNd", SLOT0, i(2), 0) +
                  op("HandleOp", 0, i(0)) + op("HandleOp", 1, 0) + execute(0) + op("Misc", i(-5), 1),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_descriptors")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()
