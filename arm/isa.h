// Runtime ISA dispatch for the portable CPU kernels. The library is built for baseline x86-64
// (SSE2, no FMA) so that one libconvx.so runs everywhere; CONVX_CPU_CLONES on a hot function
// makes GCC compile it (and everything inlined into it) three times, for x86-64-v4 (AVX-512),
// x86-64-v3 (AVX2 + FMA) and the baseline, and pick one through an ifunc resolver when the
// library loads. Put it on a function called from inside a parallel loop (the per-task or
// per-tile function), not on one holding `#pragma omp parallel`: the region's body is outlined
// into a separate, uncloned function. Each process runs one clone on every thread, so results
// stay bitwise identical across thread counts; they differ between machines of different ISA
// (FMA contraction, vector widths in reductions), within the tests' tolerances.
// Empty where the clones are unavailable or unwanted: other architectures (aarch64 builds
// unchanged), compilers other than GCC (clang's fuzz build), and CONVX_NO_ISA_CLONES.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__) && !defined(CONVX_NO_ISA_CLONES)
#define CONVX_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CONVX_CPU_CLONES
#endif

// For the helpers a cloned function calls in its hot loop (tiles): GCC's inliner otherwise may
// keep them out of line, compiled for the baseline only, and the clone gains nothing.
#if defined(__GNUC__)
#define CONVX_CPU_INLINE inline __attribute__((always_inline))
#else
#define CONVX_CPU_INLINE inline
#endif
