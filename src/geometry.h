// A Problem flattened to plain 3-D form for kernels: unused leading spatial dims have size 1,
// every stride is explicit (in elements), and the struct is trivially copyable so it can be a
// CUDA kernel argument as well as the CPU reference's view.
#pragma once

#include <cstdint>

#include "problem.h"

namespace convx {

struct Conv3d {
    int64_t N, C, K, G, Cg, Kg;
    int64_t I[3], O[3], R[3], S[3], P[3], D[3];  // input, output, filter, stride, pad, dilation
    int64_t xs[5], ys[5], ws[5];                 // strides of x, y (N, C, D, H, W) and w (K, C/G, KD, KH, KW)
    int64_t inPix, outPix, taps;
    bool flip;                                   // CONVOLUTION mode: taps are mirrored
};

inline Conv3d conv3dOf(const Problem& p) {
    Conv3d g{};
    g.N = p.N, g.C = p.C, g.K = p.K, g.G = p.G, g.Cg = p.Cg(), g.Kg = p.Kg();
    const int lead = 3 - p.nsp;
    const Strides wst = p.wStrides();
    g.xs[0] = p.xStrides[0], g.xs[1] = p.xStrides[1];
    g.ys[0] = p.yStrides[0], g.ys[1] = p.yStrides[1];
    g.ws[0] = wst[0], g.ws[1] = wst[1];
    for (int j = 0; j < 3; ++j) {
        const int i = j - lead;
        const bool used = i >= 0;
        g.I[j] = used ? p.in[i] : 1;
        g.O[j] = used ? p.out[i] : 1;
        g.R[j] = used ? p.ker[i] : 1;
        g.S[j] = used ? p.stride[i] : 1;
        g.P[j] = used ? p.pad[i] : 0;
        g.D[j] = used ? p.dil[i] : 1;
        g.xs[2 + j] = used ? p.xStrides[2 + i] : 0;
        g.ys[2 + j] = used ? p.yStrides[2 + i] : 0;
        g.ws[2 + j] = used ? wst[2 + i] : 0;
    }
    g.inPix = g.I[0] * g.I[1] * g.I[2];
    g.outPix = g.O[0] * g.O[1] * g.O[2];
    g.taps = g.R[0] * g.R[1] * g.R[2];
    g.flip = p.mode == CONVX_CONVOLUTION;
    return g;
}

}  // namespace convx
