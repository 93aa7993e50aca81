// GCONV: the convolution loop nest with operator slots (../shared/SEEDS.md §5). For each output
// element (n, group g, k, spatial o):
//
//   v(c, tap) = padded tap ? (skip when reduce != SUM, else padValue)
//                          : pre(preScale[c] * x[n, c, i] + preShift[c])
//   acc       = reduce over c in the group and over the window taps of  map(v, w[k, c, tap])
//   t         = postScale[k] * acc + postShift[k]        (each optional: 1 and 0 when absent)
//   t         = t + z[n, k, o]   or   t * z[n, k, o]     (optional second input; z may broadcast
//                                                          through zero strides)
//   y[n,k,o]  = alpha * post(t) + beta * y[n,k,o]        (beta == 0 never reads y)
//
// MEAN counts the (channel, tap) pairs that took part. A window with no valid tap (padding at
// least the window, under MAX/MIN/MEAN) reduces to 0. NaN propagation through MAX/MIN is not
// specified. Engines accumulate in the problem's accType (fp32 for f32/f16/bf16, fp64 for f64).
//
// An ordinary convolution is (MUL, SUM, identity, identity) with no affine and no z. Pooling is
// grouped with G == C == K, map PASS (w unused); MEAN divides by the number of valid taps. The
// geometry is a forward convx::Problem (so strides, padding, dilation, groups, layouts, element
// strides — e.g. a channel slice of a bigger tensor for concat — mean exactly what they mean for
// a convolution). This header is the contract between the GCONV engines (arm/gconv.cpp,
// cuda/gconv.cu), the C API (capi/gconv.cpp) and the chain (src/chain.*).
#pragma once

#include <string>

#include "algorithm.h"
#include "problem.h"

namespace convx {

enum class GMap { Mul = 0, Add = 1, Pass = 2 };            // map(v, w): v*w, v+w, v
enum class GReduce { Sum = 0, Max = 1, Min = 2, Mean = 3 }; // Mean: over valid taps only
enum class GCombine { None = 0, Add = 1, Mul = 2 };         // how z joins before post

// Elementwise operators of the pre and post slots; `param` is used by the ones that say so.
enum class GUnary {
    Identity = 0,
    Square = 1,
    Relu = 2,
    Relu6 = 3,
    Sigmoid = 4,
    Tanh = 5,
    Exp = 6,
    Reciprocal = 7,  // 1 / v
    Pow = 8,         // v ^ param (v > 0 assumed; LRN's (k + a·sum)^-beta)
    LeakyRelu = 9,   // v < 0 ? param * v : v
    Sqrt = 10,
};

struct GconvOps {
    GMap map = GMap::Mul;
    GReduce reduce = GReduce::Sum;
    bool preAffine = false;      // preScale/preShift per input channel C (either may be null: 1 / 0)
    GUnary pre = GUnary::Identity;
    float preParam = 0.f;
    float padValue = 0.f;        // what a padded tap contributes under SUM (after pre, before map)
    bool postAffine = false;     // postScale/postShift per output channel K (either may be null)
    GCombine combine = GCombine::None;
    GUnary post = GUnary::Identity;
    float postParam = 0.f;

    bool isPlainConvolution() const {
        return map == GMap::Mul && reduce == GReduce::Sum && !preAffine && pre == GUnary::Identity &&
               padValue == 0.f && !postAffine && combine == GCombine::None && post == GUnary::Identity;
    }
    std::string str() const;  // "map=mul,reduce=sum,post=relu,..." (logs, chain descriptions)
};

// A GCONV call: forward geometry + operators + the z operand's element strides (N, C, spatial...,
// same rank as y; zero strides broadcast). Per-channel vectors are always packed fp32.
struct GconvProblem {
    Problem conv;  // dir == Forward; w is unused (may be null) when ops.map == PASS
    GconvOps ops;
    Strides zStrides{};
    std::string str() const;  // conv.str() + " " + ops.str()
};

struct GconvArgs {
    const void* x = nullptr;
    const void* w = nullptr;       // null allowed for map PASS
    void* y = nullptr;
    const void* z = nullptr;       // required when ops.combine != None; dtype of y
    const float* preScale = nullptr;
    const float* preShift = nullptr;
    const float* postScale = nullptr;
    const float* postShift = nullptr;
};

// Throws Error (BAD_PARAM / NOT_SUPPORTED_*) naming what is wrong: ops out of range, z missing,
// PASS with Cg != 1 (pooling is per channel), ...
void validateGconv(const GconvProblem& gp);

// Runs on the handle's backend (CPU engine or CUDA engine). Workspace: gconvWorkspaceSize.
size_t gconvWorkspaceSize(const convxContext& h, const GconvProblem& gp);
void gconvForward(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s);

// The float64 oracle of the definition above (host memory), for tests and the chain's reference.
void gconvReference(const GconvProblem& gp, const GconvArgs& a, Scale s);

}  // namespace convx
