// Chain entry points: argument checks and the guard funnel around convx::Chain (src/chain.h).
#include <cstring>

#include "chain.h"
#include "execute.h"
#include "guard.h"

using namespace convx;

namespace {

Chain& liveChain(convxChain_t c) {
    requireNonNull(c, "chain");
    // Tracked like the descriptors: a destroyed or foreign pointer is refused, never read.
    if (!isTracked(c, ObjectKind::Chain) || !c->chain)
        fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "chain is not a live convx chain (destroyed, or never created)");
    return *c->chain;
}

void setId(int* id, int v) { *id = v; }

}  // namespace

extern "C" {

convxStatus_t convxChainCreate(convxHandle_t handle, convxChain_t* chain, convxTensorFormat_t format, convxDataType_t dtype) {
    return CONVX_GUARD({
        requireNonNull(chain, "chain");
        convxContext& h = liveHandle(handle);
        const int f = enumArg(format), d = enumArg(dtype);
        if (f != CONVX_TENSOR_NCHW && f != CONVX_TENSOR_NHWC) fail(CONVX_STATUS_BAD_PARAM, "format = %d is not a convxTensorFormat_t", f);
        DType dt;
        if (d == CONVX_DATA_FLOAT) dt = DType::F32;
        else if (d == CONVX_DATA_DOUBLE) dt = DType::F64;
        else if (d == CONVX_DATA_HALF) dt = DType::F16;
        else if (d == CONVX_DATA_BFLOAT16) dt = DType::BF16;
        else fail(CONVX_STATUS_BAD_PARAM, "dtype = %d is not a convxDataType_t", d);
        auto obj = std::make_unique<convxChainStruct>();
        obj->chain = std::make_unique<Chain>(&h, static_cast<Layout>(f), dt);
        trackObject(obj.get(), ObjectKind::Chain);
        *chain = obj.release();
    });
}

convxStatus_t convxChainDestroy(convxChain_t chain) {
    return CONVX_GUARD({
        if (!chain) return;  // like free(NULL)
        liveChain(chain);
        untrackObject(chain);
        delete chain;
    });
}

convxStatus_t convxChainAddInput(convxChain_t chain, int n, int c, int h, int w, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addInput({n, c, h, w}));
    });
}

convxStatus_t convxChainAddConvolution(convxChain_t chain, int input, int k, int r, int s, int stride_h, int stride_w, int pad_h,
                                       int pad_w, int dil_h, int dil_w, int groups, const float* w, const float* bias, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        const int64_t st[2] = {stride_h, stride_w}, pd[2] = {pad_h, pad_w}, dl[2] = {dil_h, dil_w};
        setId(id, ch.addConv(input, k, r, s, st, pd, dl, groups, w, bias));
    });
}

convxStatus_t convxChainAddBatchNorm(convxChain_t chain, int input, const float* mean, const float* var, const float* gamma,
                                     const float* beta, float eps, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addBatchNorm(input, mean, var, gamma, beta, eps));
    });
}

convxStatus_t convxChainAddActivation(convxChain_t chain, int input, convxChainActivation_t mode, float param, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        const int m = enumArg(mode);
        if (m < CONVX_CHAIN_RELU || m > CONVX_CHAIN_LEAKY_RELU) fail(CONVX_STATUS_BAD_PARAM, "mode = %d is not a convxChainActivation_t", m);
        setId(id, ch.addActivation(input, static_cast<ActKind>(m), param));
    });
}

convxStatus_t convxChainAddPooling(convxChain_t chain, int input, convxChainPooling_t mode, int r, int s, int stride_h, int stride_w,
                                   int pad_h, int pad_w, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        const int m = enumArg(mode);
        static const LayerKind kinds[] = {LayerKind::MaxPool, LayerKind::AvgPool, LayerKind::GlobalMax, LayerKind::GlobalAvg};
        if (m < 0 || m > 3) fail(CONVX_STATUS_BAD_PARAM, "mode = %d is not a convxChainPooling_t", m);
        const int64_t st[2] = {stride_h, stride_w}, pd[2] = {pad_h, pad_w};
        setId(id, ch.addPooling(input, kinds[m], r, s, st, pd));
    });
}

convxStatus_t convxChainAddFullyConnected(convxChain_t chain, int input, int out_features, const float* w, const float* bias, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addFullyConnected(input, out_features, w, bias));
    });
}

convxStatus_t convxChainAddAdd(convxChain_t chain, int a, int b, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addAdd(a, b));
    });
}

convxStatus_t convxChainAddConcat(convxChain_t chain, const int* inputs, int count, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addConcat(inputs, count));
    });
}

convxStatus_t convxChainAddUpsample(convxChain_t chain, int input, int scale_h, int scale_w, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addUpsample(input, scale_h, scale_w));
    });
}

convxStatus_t convxChainAddLRN(convxChain_t chain, int input, int size, float alpha, float beta, float k, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addLRN(input, size, alpha, beta, k));
    });
}

convxStatus_t convxChainAddSoftmax(convxChain_t chain, int input, int* id) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(id, "id");
        setId(id, ch.addSoftmax(input));
    });
}

convxStatus_t convxChainMarkOutput(convxChain_t chain, int id) {
    return CONVX_GUARD({ liveChain(chain).markOutput(id); });
}

convxStatus_t convxChainFinalize(convxChain_t chain, int fuse) {
    return CONVX_GUARD({ liveChain(chain).finalize(fuse != 0); });
}

convxStatus_t convxChainGetWorkspaceSize(convxChain_t chain, size_t* bytes) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        requireNonNull(bytes, "bytes");
        *bytes = ch.workspaceSize();
    });
}

convxStatus_t convxChainDescribe(convxChain_t chain, char* text, size_t max_size, size_t* needed) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        if (max_size > 0) requireNonNull(text, "text");
        const std::string s = ch.describe();
        if (needed) *needed = s.size() + 1;
        if (max_size > 0) {
            const size_t n = std::min(s.size(), max_size - 1);
            std::memcpy(text, s.data(), n);
            text[n] = '\0';
        }
    });
}

convxStatus_t convxChainGetTensorShape(convxChain_t chain, int id, int* n, int* c, int* h, int* w) {
    return CONVX_GUARD({
        Chain& ch = liveChain(chain);
        int* out[4] = {n, c, h, w};
        const char* names[4] = {"n", "c", "h", "w"};
        for (int i = 0; i < 4; ++i) requireNonNull(out[i], names[i]);
        const Shape4 s = ch.shape(id);
        *n = int(s.n), *c = int(s.c), *h = int(s.h), *w = int(s.w);
    });
}

convxStatus_t convxChainExecute(convxChain_t chain, const void* const* inputs, void* const* outputs, void* workspace,
                                size_t workspace_bytes) {
    return CONVX_GUARD({ liveChain(chain).execute(inputs, outputs, workspace, workspace_bytes); });
}

}  // extern "C"
