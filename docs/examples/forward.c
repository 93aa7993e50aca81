/* Forward convolution on the CPU backend (README.md). cc -std=c99 forward.c -lconvx */
#include <convx/convx.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) do { convxStatus_t s_ = (call); if (s_ != CONVX_STATUS_SUCCESS) {     \
        char m_[512]; convxGetLastErrorString(m_, sizeof m_);                             \
        fprintf(stderr, "%s\n  -> %s: %s\n", #call, convxGetErrorString(s_), m_); exit(1); } } while (0)

int main(void) {
    static float x[1 * 3 * 8 * 8], w[4 * 3 * 3 * 3], y[1 * 4 * 8 * 8];
    const float alpha = 1.0f, beta = 0.0f;
    convxHandle_t h; convxTensorDescriptor_t xd, yd; convxFilterDescriptor_t wd; convxConvolutionDescriptor_t cd;
    int n, k, p, q, i; size_t ws_bytes; void* ws;
    for (i = 0; i < 1 * 3 * 8 * 8; ++i) x[i] = (float)(i % 7) - 3.0f;
    for (i = 0; i < 4 * 3 * 3 * 3; ++i) w[i] = (float)(i % 5) * 0.25f;

    CHECK(convxCreateWithBackend(&h, CONVX_BACKEND_CPU));
    CHECK(convxCreateTensorDescriptor(&xd)); CHECK(convxCreateTensorDescriptor(&yd));
    CHECK(convxCreateFilterDescriptor(&wd)); CHECK(convxCreateConvolutionDescriptor(&cd));
    CHECK(convxSetTensor4dDescriptor(xd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 3, 8, 8));  /* N C H W   */
    CHECK(convxSetFilter4dDescriptor(wd, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 4, 3, 3, 3));  /* K C/g R S */
    CHECK(convxSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    CHECK(convxGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &k, &p, &q));               /* 1 4 8 8   */
    CHECK(convxSetTensor4dDescriptor(yd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, n, k, p, q));
    CHECK(convxGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, CONVX_ALGO_AUTO, &ws_bytes));
    ws = ws_bytes ? malloc(ws_bytes) : NULL;
    CHECK(convxConvolutionForward(h, &alpha, xd, x, wd, w, cd, CONVX_ALGO_AUTO, ws, ws_bytes, &beta, yd, y));
    printf("y: %dx%dx%dx%d, y[0] = %g\n", n, k, p, q, y[0]);

    free(ws);
    convxDestroyConvolutionDescriptor(cd); convxDestroyFilterDescriptor(wd);
    convxDestroyTensorDescriptor(yd); convxDestroyTensorDescriptor(xd); convxDestroy(h);
    return 0;
}
