// Runtime ISA dispatch for the portable CPU kernels. The library is built for baseline x86-64
// (SSE2, no FMA) so that one libconvx.so runs everywhere; CONVX_CPU_CLONES on a hot function
// makes GCC compile it (and everything inlined into it) twice, for x86-64-v3 (AVX2 + FMA, also
// what AVX-512 machines run) and the baseline, and pick one through an ifunc resolver when the
// library loads. No x86-64-v4 (AVX-512) clone: the tiles are sized for 256-bit vectors and
// GCC's AVX-512 code for them measured slower than its AVX2 code (docs/performance.md). Put it
// on a function called from inside a parallel loop (the per-task or per-tile function), not on
// one holding `#pragma omp parallel`: the region's body is outlined into a separate, uncloned
// function. Each process runs one clone on every thread, so results
// stay bitwise identical across thread counts; they differ between machines of different ISA
// (FMA contraction, vector widths in reductions), within the tests' tolerances.
// Empty where the clones are unavailable or unwanted: other architectures (aarch64 builds
// unchanged), compilers other than GCC (clang's fuzz build), and CONVX_NO_ISA_CLONES.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__) && !defined(CONVX_NO_ISA_CLONES)
#define CONVX_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CONVX_CPU_CLONES
#endif

// Hand dispatch, where the baseline build must keep a different code shape than the AVX2 one
// (direct_coalesced: the SSE2 tile runs best out of line, the AVX2 one inlined into its task):
// CONVX_CPU_AVX2 on the AVX2 + FMA function, taken when cpuHasAvx2Fma(); same conditions.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__) && !defined(CONVX_NO_ISA_CLONES)
#define CONVX_CPU_DISPATCH 1
#define CONVX_CPU_AVX2 __attribute__((target("avx2,fma")))
namespace convx {
inline bool cpuHasAvx2Fma() {
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}
}  // namespace convx
#else
#define CONVX_CPU_DISPATCH 0
#endif

#if defined(__GNUC__)
#define CONVX_CPU_INLINE inline __attribute__((always_inline))
#else
#define CONVX_CPU_INLINE inline
#endif
