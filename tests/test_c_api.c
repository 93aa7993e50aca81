/*
 * The C API from plain C99 (-Wall -Wextra -Werror -pedantic), linked against the shared
 * libconvx only: a forward, backward-data and backward-filter convolution and a transposed
 * convolution (ConvTranspose terms), a GCONV (convolution + shift + ReLU, and a max pool) and a
 * one-layer chain on the CPU backend, checked against this file's own naive loops, plus a few
 * error paths.
 * Prints "N passed, M failed" and returns nonzero on failure.
 */
#include <convx/convx.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_passed = 0;
static int g_failed = 0;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (cond) {                                                               \
            ++g_passed;                                                           \
        } else {                                                                  \
            ++g_failed;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                         \
    } while (0)

#define CHECK_OK(call)                                                                            \
    do {                                                                                          \
        convxStatus_t st_ = (call);                                                               \
        if (st_ == CONVX_STATUS_SUCCESS) {                                                        \
            ++g_passed;                                                                           \
        } else {                                                                                  \
            char msg_[512];                                                                       \
            convxGetLastErrorString(msg_, sizeof msg_);                                           \
            ++g_failed;                                                                           \
            fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,                   \
                    convxGetErrorString(st_), msg_);                                              \
        }                                                                                         \
    } while (0)

static float quiet_nan(void) {
    const unsigned int bits = 0x7fc00000u;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float next_value(unsigned* seed) {
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 16) & 0x7fffu) / 16384.0f - 1.0f;
}

/* Problem: N=2, C=4, K=6, groups 2, H=5, W=6, filter 3x2, pad (1,0), stride (2,1), dilation (1,2),
 * CROSS_CORRELATION, NCHW float. Output: H' = 1 + (5 + 2 - 3) / 2 = 3, W' = 1 + (6 - 3) / 1 = 4. */
enum { N = 2, C = 4, K = 6, G = 2, H = 5, W = 6, R = 3, S = 2, PH = 1, PW = 0, SH = 2, SW = 1, DH = 1, DW = 2, P = 3, Q = 4 };
enum { CG = C / G, KG = K / G };

static int xi(int n, int c, int h, int w) { return ((n * C + c) * H + h) * W + w; }
static int wi(int k, int c, int r, int s) { return ((k * CG + c) * R + r) * S + s; }
static int yi(int n, int k, int p, int q) { return ((n * K + k) * P + p) * Q + q; }

static float x[N * C * H * W], wt[K * CG * R * S], y[N * K * P * Q];
static double ry[N * K * P * Q], rdx[N * C * H * W], rdw[K * CG * R * S];

static void naive(void) {
    int n, k, c, p, q, r, s;
    memset(ry, 0, sizeof ry);
    memset(rdx, 0, sizeof rdx);
    memset(rdw, 0, sizeof rdw);
    for (n = 0; n < N; ++n)
        for (k = 0; k < K; ++k)
            for (p = 0; p < P; ++p)
                for (q = 0; q < Q; ++q)
                    for (c = 0; c < CG; ++c)
                        for (r = 0; r < R; ++r)
                            for (s = 0; s < S; ++s) {
                                int h = p * SH - PH + r * DH, w = q * SW - PW + s * DW, cc = (k / KG) * CG + c;
                                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                                /* forward: y = conv(x, w); backward data uses y as dy; backward filter too */
                                ry[yi(n, k, p, q)] += (double)wt[wi(k, c, r, s)] * x[xi(n, cc, h, w)];
                                rdx[xi(n, cc, h, w)] += (double)wt[wi(k, c, r, s)] * y[yi(n, k, p, q)];
                                rdw[wi(k, c, r, s)] += (double)y[yi(n, k, p, q)] * x[xi(n, cc, h, w)];
                            }
}

static int close_to(const float* got, const double* want, int count) {
    int i;
    double err = 0, ref = 0;
    for (i = 0; i < count; ++i) {
        if (got[i] != got[i]) return 0; /* NaN */
        err += (got[i] - want[i]) * (got[i] - want[i]);
        ref += want[i] * want[i];
    }
    return err <= 1e-12 * (ref > 1e-30 ? ref : 1e-30);
}

int main(void) {
    convxHandle_t h = NULL;
    convxTensorDescriptor_t xd = NULL, yd = NULL;
    convxFilterDescriptor_t wd = NULL;
    convxConvolutionDescriptor_t cd = NULL;
    float alpha = 1.0f, beta = 0.0f;
    float dx[N * C * H * W], dw[K * CG * R * S], yout[N * K * P * Q];
    unsigned seed = 12345u;
    int i, n = 0, c = 0, hh = 0, ww = 0;
    char msg[256];
    convxStatus_t st;

    printf("convx version %lu (header %d)\n", (unsigned long)convxGetVersion(), CONVX_VERSION);
    CHECK(convxGetVersion() == CONVX_VERSION);

    for (i = 0; i < N * C * H * W; ++i) x[i] = next_value(&seed);
    for (i = 0; i < K * CG * R * S; ++i) wt[i] = next_value(&seed);
    for (i = 0; i < N * K * P * Q; ++i) y[i] = next_value(&seed);
    naive();

    CHECK_OK(convxCreateWithBackend(&h, CONVX_BACKEND_CPU));
    CHECK_OK(convxCreateTensorDescriptor(&xd));
    CHECK_OK(convxCreateTensorDescriptor(&yd));
    CHECK_OK(convxCreateFilterDescriptor(&wd));
    CHECK_OK(convxCreateConvolutionDescriptor(&cd));
    CHECK_OK(convxSetTensor4dDescriptor(xd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, N, C, H, W));
    CHECK_OK(convxSetFilter4dDescriptor(wd, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, K, CG, R, S));
    CHECK_OK(convxSetConvolution2dDescriptor(cd, PH, PW, SH, SW, DH, DW, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    CHECK_OK(convxSetConvolutionGroupCount(cd, G));
    CHECK_OK(convxGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &c, &hh, &ww));
    CHECK(n == N && c == K && hh == P && ww == Q);
    CHECK_OK(convxSetTensor4dDescriptor(yd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, N, K, P, Q));

    /* forward, into a NaN-poisoned output (beta 0 never reads it) */
    for (i = 0; i < N * K * P * Q; ++i) yout[i] = quiet_nan();
    CHECK_OK(convxConvolutionForward(h, &alpha, xd, x, wd, wt, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, yd, yout));
    CHECK(close_to(yout, ry, N * K * P * Q));

    /* backward data with the reference explicitly */
    for (i = 0; i < N * C * H * W; ++i) dx[i] = quiet_nan();
    CHECK_OK(convxConvolutionBackwardData(h, &alpha, wd, wt, yd, y, cd, CONVX_ALGO_REFERENCE, NULL, 0, &beta, xd, dx));
    CHECK(close_to(dx, rdx, N * C * H * W));

    /* backward filter, accumulating: dw = 2 * grad + 1 * dw */
    alpha = 2.0f;
    beta = 1.0f;
    for (i = 0; i < K * CG * R * S; ++i) {
        dw[i] = 0.25f;
        rdw[i] = 2.0 * rdw[i] + 0.25;
    }
    CHECK_OK(convxConvolutionBackwardFilter(h, &alpha, xd, x, yd, y, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, wd, dw));
    CHECK(close_to(dw, rdw, K * CG * R * S));

    /* the same backward data as a ConvTranspose: its x is y (N x K x P x Q, in_channels K), its
     * weight is wt (K x C/G x R x S: in_channels x out_channels/groups, PyTorch's layout) and
     * its output is N x C x H x W, checked against the scatter form of its definition:
     * out[n, g*CG + c, p*SH - PH + r*DH, q*SW - PW + s*DW] += x[n, k, p, q] * w[k, c, r, s] */
    {
        static double rt[N * C * H * W];
        float tout[N * C * H * W];
        int k, cc, p, q, r, s2, op_h, h0, w0;
        convxTensorDescriptor_t txd = NULL, tyd = NULL;
        size_t ws = 1;
        memset(rt, 0, sizeof rt);
        for (n = 0; n < N; ++n)
            for (k = 0; k < K; ++k)
                for (p = 0; p < P; ++p)
                    for (q = 0; q < Q; ++q)
                        for (cc = 0; cc < CG; ++cc)
                            for (r = 0; r < R; ++r)
                                for (s2 = 0; s2 < S; ++s2) {
                                    h0 = p * SH - PH + r * DH;
                                    w0 = q * SW - PW + s2 * DW;
                                    if (h0 < 0 || h0 >= H || w0 < 0 || w0 >= W) continue;
                                    rt[xi(n, (k / KG) * CG + cc, h0, w0)] += (double)y[yi(n, k, p, q)] * wt[wi(k, cc, r, s2)];
                                }
        CHECK_OK(convxCreateTensorDescriptor(&txd));
        CHECK_OK(convxCreateTensorDescriptor(&tyd));
        CHECK_OK(convxSetTensor4dDescriptor(txd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, N, K, P, Q));
        /* output size: (P-1)*SH - 2*PH + (R-1)*DH + 1 = 5 = H (output_padding 0), 6 with 1 */
        CHECK_OK(convxGetConvolutionTranspose2dOutputDim(cd, txd, wd, 0, 0, &n, &c, &hh, &ww));
        CHECK(n == N && c == C && hh == H && ww == W);
        op_h = 1;
        CHECK_OK(convxGetConvolutionTranspose2dOutputDim(cd, txd, wd, op_h, 0, &n, &c, &hh, &ww));
        CHECK(hh == H + 1 && ww == W);
        /* output_padding must stay below the stride (here 1 along W) */
        st = convxGetConvolutionTranspose2dOutputDim(cd, txd, wd, 0, 1, &n, &c, &hh, &ww);
        CHECK(st == CONVX_STATUS_NOT_SUPPORTED_SHAPE);
        st = convxGetConvolutionTranspose2dOutputDim(cd, txd, wd, 2, 0, &n, &c, &hh, &ww);
        CHECK(st == CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND);
        convxGetLastErrorString(msg, sizeof msg);
        CHECK(strstr(msg, "output_padding[0]") != NULL);
        CHECK_OK(convxSetTensor4dDescriptor(tyd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, N, C, H, W));
        CHECK_OK(convxGetConvolutionTransposeForwardWorkspaceSize(h, txd, wd, cd, tyd, CONVX_ALGO_AUTO, &ws));
        CHECK(ws == 0);
        alpha = 1.0f;
        beta = 0.0f;
        for (i = 0; i < N * C * H * W; ++i) tout[i] = quiet_nan();
        CHECK_OK(convxConvolutionTransposeForward(h, &alpha, txd, y, wd, wt, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, tyd, tout));
        CHECK(close_to(tout, rt, N * C * H * W));
        CHECK(close_to(tout, rdx, N * C * H * W));
        /* the wrong output size is refused, naming y_desc */
        CHECK_OK(convxSetTensor4dDescriptor(tyd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, N, C, H + 2, W));
        st = convxConvolutionTransposeForward(h, &alpha, txd, y, wd, wt, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, tyd, tout);
        CHECK(st == CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH);
        convxGetLastErrorString(msg, sizeof msg);
        CHECK(strstr(msg, "y_desc") != NULL);
        CHECK_OK(convxDestroyTensorDescriptor(tyd));
        CHECK_OK(convxDestroyTensorDescriptor(txd));
    }

    /* error paths: a status, and a message naming the argument */
    st = convxConvolutionForward(h, &alpha, xd, NULL, wd, wt, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, yd, yout);
    CHECK(st == CONVX_STATUS_BAD_PARAM_NULL_POINTER);
    convxGetLastErrorString(msg, sizeof msg);
    CHECK(strstr(msg, "x is NULL") != NULL);
    st = convxSetTensor4dDescriptor(xd, CONVX_TENSOR_NCHW, (convxDataType_t)3, 1, 1, 1, 1);
    CHECK(st == CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE);
    CHECK(CONVX_STATUS_CATEGORY(st) == CONVX_STATUS_NOT_SUPPORTED);
    /* C lets any int through an enum parameter: out-of-range values are refused, not trusted */
    st = convxSetTensor4dDescriptor(xd, (convxTensorFormat_t)2, CONVX_DATA_FLOAT, 1, 1, 1, 1);
    CHECK(st == CONVX_STATUS_NOT_SUPPORTED_LAYOUT);
    st = convxSetFilter4dDescriptor(wd, CONVX_DATA_FLOAT, (convxTensorFormat_t)-1, 1, 1, 1, 1);
    CHECK(st == CONVX_STATUS_NOT_SUPPORTED_LAYOUT);
    st = convxSetConvolution2dDescriptor(cd, 0, 0, 1, 1, 1, 1, (convxConvolutionMode_t)5, CONVX_DATA_FLOAT);
    CHECK(st == CONVX_STATUS_BAD_PARAM);
    st = convxSetConvolution2dDescriptor(cd, 0, 0, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, (convxDataType_t)1000);
    CHECK(st == CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE);
    st = convxSetConvolutionMathType(cd, (convxMathType_t)4);
    CHECK(st == CONVX_STATUS_BAD_PARAM);
    {
        convxHandle_t h2 = NULL;
        st = convxCreateWithBackend(&h2, (convxBackend_t)7);
        CHECK(st == CONVX_STATUS_BAD_PARAM && h2 == NULL);
    }
    /* the descriptors above are unchanged by the failed setters: the forward call still works */
    alpha = 1.0f;
    beta = 0.0f;
    CHECK_OK(convxConvolutionForward(h, &alpha, xd, x, wd, wt, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, yd, yout));
    CHECK(close_to(yout, ry, N * K * P * Q));
    st = convxConvolutionForward(h, &alpha, xd, x, wd, wt, cd, (convxConvAlgo_t)42, NULL, 0, &beta, yd, yout);
    CHECK(st == CONVX_STATUS_BAD_PARAM);
    st = convxConvolutionForward(h, &alpha, xd, x, wd, wt, cd, (convxConvAlgo_t)-1, NULL, 0, &beta, yd, yout);
    CHECK(st == CONVX_STATUS_BAD_PARAM);
    CHECK(convxGetAlgorithmName((convxConvAlgo_t)-1) == NULL);
    CHECK(convxGetAlgorithmName((convxConvAlgo_t)CONVX_ALGO_COUNT) == NULL);
    CHECK(convxGetErrorString((convxStatus_t)12345) != NULL);
    st = convxSetStream(h, (void*)&msg);
    CHECK(st == CONVX_STATUS_BAD_PARAM);
    CHECK(convxGetErrorString(CONVX_STATUS_SUCCESS) != NULL);
    CHECK(convxGetAlgorithmName(CONVX_ALGO_REFERENCE) != NULL && strcmp(convxGetAlgorithmName(CONVX_ALGO_REFERENCE), "reference") == 0);

    /* workspace limit (ctest runs this with CONVX_FIND_DB=off) */
    {
        size_t limit = 0;
        CHECK_OK(convxGetWorkspaceLimit(h, &limit));
        CHECK(limit == (size_t)-1);
        CHECK_OK(convxSetWorkspaceLimit(h, 0));
        CHECK_OK(convxGetWorkspaceLimit(h, &limit));
        CHECK(limit == 0);
        /* AUTO stays within it: the reference needs no workspace */
        CHECK_OK(convxConvolutionForward(h, &alpha, xd, x, wd, wt, cd, CONVX_ALGO_AUTO, NULL, 0, &beta, yd, yout));
        CHECK(close_to(yout, ry, N * K * P * Q));
        st = convxGetWorkspaceLimit(h, NULL);
        CHECK(st == CONVX_STATUS_BAD_PARAM_NULL_POINTER);
        convxGetLastErrorString(msg, sizeof msg);
        CHECK(strstr(msg, "bytes is NULL") != NULL);
        st = convxSetWorkspaceLimit(NULL, 0);
        CHECK(st == CONVX_STATUS_BAD_PARAM_NULL_POINTER);
        CHECK_OK(convxSetWorkspaceLimit(h, (size_t)-1));
    }

    /* the same convolution as a GCONV with a per-channel shift and ReLU, then a 3x3/2 max pool
     * (map PASS, no filter) of x; both against this file's loops */
    {
        convxGconvDescriptor_t g = NULL, pool = NULL;
        convxTensorDescriptor_t pd = NULL;
        float shift[K], pooled[N * C * 3 * 3];
        double want[N * K * P * Q], wantPool[N * C * 3 * 3];
        int pads[2] = {1, 1}, strides[2] = {2, 2}, dils[2] = {1, 1}, win[2] = {3, 3}, dims[4];
        int k, p, q, pp, qq, r, s, cc;
        for (k = 0; k < K; ++k) shift[k] = next_value(&seed);
        for (i = 0; i < N * K * P * Q; ++i) {
            const double v = ry[i] + shift[(i / (P * Q)) % K];
            want[i] = v > 0 ? v : 0;
        }
        CHECK_OK(convxCreateGconvDescriptor(&g));
        CHECK_OK(convxSetGconvGeometryFromConvolution(g, cd));
        CHECK_OK(convxSetGconvPostOp(g, CONVX_GCONV_OP_RELU, 0.f, 1));
        for (i = 0; i < N * K * P * Q; ++i) yout[i] = quiet_nan();
        CHECK_OK(convxGconvForward(h, g, &alpha, xd, x, wd, wt, NULL, NULL, NULL, NULL, NULL, shift, NULL, 0, &beta, yd, yout));
        CHECK(close_to(yout, want, N * K * P * Q));
        /* combine ADD without a z is refused, naming it */
        CHECK_OK(convxSetGconvCombine(g, CONVX_GCONV_COMBINE_ADD));
        st = convxGconvForward(h, g, &alpha, xd, x, wd, wt, NULL, NULL, NULL, NULL, NULL, shift, NULL, 0, &beta, yd, yout);
        CHECK(st != CONVX_STATUS_SUCCESS);
        convxGetLastErrorString(msg, sizeof msg);
        CHECK(strstr(msg, "z") != NULL);

        /* max pool: H = 5 -> 3, W = 6 -> 3; padded taps never win */
        for (n = 0; n < N; ++n)
            for (cc = 0; cc < C; ++cc)
                for (pp = 0; pp < 3; ++pp)
                    for (qq = 0; qq < 3; ++qq) {
                        double m = -1e300;
                        for (r = 0; r < 3; ++r)
                            for (s = 0; s < 3; ++s) {
                                p = pp * 2 - 1 + r, q = qq * 2 - 1 + s;
                                if (p >= 0 && p < H && q >= 0 && q < W && x[xi(n, cc, p, q)] > m) m = x[xi(n, cc, p, q)];
                            }
                        wantPool[((n * C + cc) * 3 + pp) * 3 + qq] = m;
                    }
        CHECK_OK(convxCreateGconvDescriptor(&pool));
        CHECK_OK(convxSetGconvNdGeometry(pool, 2, pads, strides, dils, C, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        CHECK_OK(convxSetGconvMapReduce(pool, CONVX_GCONV_MAP_PASS, CONVX_GCONV_REDUCE_MAX));
        CHECK_OK(convxSetGconvWindow(pool, 2, win));
        CHECK_OK(convxGetGconvOutputDim(pool, xd, NULL, 4, dims));
        CHECK(dims[0] == N && dims[1] == C && dims[2] == 3 && dims[3] == 3);
        CHECK_OK(convxCreateTensorDescriptor(&pd));
        CHECK_OK(convxSetTensor4dDescriptor(pd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, N, C, 3, 3));
        for (i = 0; i < N * C * 3 * 3; ++i) pooled[i] = quiet_nan();
        CHECK_OK(convxGconvForward(h, pool, &alpha, xd, x, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, &beta, pd, pooled));
        CHECK(close_to(pooled, wantPool, N * C * 3 * 3));
        CHECK_OK(convxDestroyTensorDescriptor(pd));
        CHECK_OK(convxDestroyGconvDescriptor(pool));
        CHECK_OK(convxDestroyGconvDescriptor(g));
    }

    /* the same convolution as a one-layer chain */
    {
        convxChain_t chain = NULL;
        int in = -1, cv = -1;
        size_t ws_bytes = 1;
        const void* ins[1];
        void* outs[1];
        ins[0] = x;
        outs[0] = yout;
        CHECK_OK(convxChainCreate(h, &chain, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT));
        CHECK_OK(convxChainAddInput(chain, N, C, H, W, &in));
        CHECK_OK(convxChainAddConvolution(chain, in, K, R, S, SH, SW, PH, PW, DH, DW, G, wt, NULL, &cv));
        st = convxChainExecute(chain, ins, outs, NULL, 0);
        CHECK(st == CONVX_STATUS_BAD_PARAM);
        convxGetLastErrorString(msg, sizeof msg);
        CHECK(strstr(msg, "not finalized") != NULL);
        CHECK_OK(convxChainMarkOutput(chain, cv));
        CHECK_OK(convxChainFinalize(chain, 1));
        CHECK_OK(convxChainGetWorkspaceSize(chain, &ws_bytes));
        for (i = 0; i < N * K * P * Q; ++i) yout[i] = quiet_nan();
        {
            void* ws = ws_bytes ? malloc(ws_bytes) : NULL;
            CHECK_OK(convxChainExecute(chain, ins, outs, ws, ws_bytes));
            free(ws);
        }
        CHECK(close_to(yout, ry, N * K * P * Q));
        CHECK_OK(convxChainDestroy(chain));
    }

    CHECK_OK(convxDestroyConvolutionDescriptor(cd));
    CHECK_OK(convxDestroyFilterDescriptor(wd));
    CHECK_OK(convxDestroyTensorDescriptor(yd));
    CHECK_OK(convxDestroyTensorDescriptor(xd));
    CHECK_OK(convxDestroy(h));
    st = convxDestroy(h);
    CHECK(st == CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR);

    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
