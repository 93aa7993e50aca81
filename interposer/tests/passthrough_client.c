/* A cuDNN client that needs no GPU: cudnnGetVersion and cudnnGetErrorString (never intercepted),
 * then six intercepted calls with a NULL handle or NULL descriptors, which cuDNN refuses and the
 * interposer must forward unchanged. It prints the statuses (compared between a plain and a
 * preloaded run) and, with CONVX_EXPECT_INTERPOSER=1, requires the interposer's counters to show
 * exactly those six calls passed through: a preload whose exports are bypassed (wrong symbol
 * version) fails here, loudly. */
#include <cudnn.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*CountersFn)(unsigned long long*, unsigned long long*, unsigned long long*);

int main(void) {
    const size_t version = cudnnGetVersion();
    const char* text = cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM);
    int count = -1;
    const cudnnStatus_t maxCount = cudnnGetConvolutionForwardAlgorithmMaxCount(NULL, &count);
    size_t bytes = 0;
    const cudnnStatus_t workspace =
        cudnnGetConvolutionForwardWorkspaceSize(NULL, NULL, NULL, NULL, NULL, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, &bytes);
    const float one = 1.0f, zero = 0.0f;
    const cudnnStatus_t forward = cudnnConvolutionForward(NULL, &one, NULL, NULL, NULL, NULL, NULL,
                                                          CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, NULL, NULL);
    printf("statuses: version=%zu error_string='%s' maxcount=%d count=%d workspace=%d convolution_forward=%d", version, text,
           (int)maxCount, count, (int)workspace, (int)forward);

    /* Real descriptors (no device needed) and a NULL handle: cuDNN refuses; the interposer reads
     * the descriptors back first, and with CONVX_CUDNN=log prints the problem it read (checked
     * by run_passthrough.cmake): NHWC, 2 groups, stride 2, dilation 2, pad 1. */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    int on = 0, oc = 0, oh = 0, ow = 0;
    if (cudnnCreateTensorDescriptor(&xd) || cudnnCreateTensorDescriptor(&yd) || cudnnCreateFilterDescriptor(&wd) ||
        cudnnCreateConvolutionDescriptor(&cd) || cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 2, 8, 9, 7) ||
        cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 16, 4, 3, 3) ||
        cudnnSetConvolution2dDescriptor(cd, 1, 1, 2, 2, 2, 2, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) ||
        cudnnSetConvolutionGroupCount(cd, 2) || cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH) ||
        cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &on, &oc, &oh, &ow) ||
        cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, on, oc, oh, ow)) {
        fprintf(stderr, "FAIL: descriptor setup\n");
        return 1;
    }
    const cudnnStatus_t wsFwd = cudnnGetConvolutionForwardWorkspaceSize(NULL, xd, wd, cd, yd, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &bytes);
    const cudnnStatus_t wsBwdData = cudnnGetConvolutionBackwardDataWorkspaceSize(NULL, wd, yd, cd, xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, &bytes);
    const cudnnStatus_t wsBwdFilter =
        cudnnGetConvolutionBackwardFilterWorkspaceSize(NULL, xd, yd, cd, wd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, &bytes);
    printf(" y=%dx%dx%dx%d ws_fwd=%d ws_bwd_data=%d ws_bwd_filter=%d\n", on, oc, oh, ow, (int)wsFwd, (int)wsBwdData, (int)wsBwdFilter);
    cudnnDestroyTensorDescriptor(xd), cudnnDestroyTensorDescriptor(yd), cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyConvolutionDescriptor(cd);
    if (version / 10000 != 9) {
        fprintf(stderr, "FAIL: cudnnGetVersion() = %zu, not cuDNN 9\n", version);
        return 1;
    }
    if (forward == CUDNN_STATUS_SUCCESS || workspace == CUDNN_STATUS_SUCCESS || wsFwd == CUDNN_STATUS_SUCCESS) {
        fprintf(stderr, "FAIL: a NULL call succeeded\n");
        return 1;
    }

    CountersFn counters;
    void* sym = dlsym(RTLD_DEFAULT, "convxInterposerCounters");
    memcpy(&counters, &sym, sizeof counters);
    const char* expect = getenv("CONVX_EXPECT_INTERPOSER");
    if (expect && atoi(expect)) {
        unsigned long long handled = 0, run = 0, passed = 0;
        if (!counters) {
            fprintf(stderr, "FAIL: CONVX_EXPECT_INTERPOSER=1 but no interposer is loaded (LD_PRELOAD?)\n");
            return 1;
        }
        counters(&handled, &run, &passed);
        printf("interposer counters: handled %llu, run %llu, passed through %llu\n", handled, run, passed);
        if (passed != 6 || handled != 0 || run != 0) {
            fprintf(stderr,
                    "FAIL: the interposer is loaded but was bypassed: it saw %llu of the 6 intercepted calls (%llu handled) — "
                    "are its cudnn* exports in version node libcudnn.so.9?\n",
                    passed + handled, handled);
            return 1;
        }
    } else if (counters) {
        fprintf(stderr, "FAIL: an interposer is loaded but CONVX_EXPECT_INTERPOSER is not set\n");
        return 1;
    }
    printf("OK\n");
    return 0;
}
