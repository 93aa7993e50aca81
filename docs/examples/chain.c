/* A small GCONV chain on the CPU backend (docs/api.md "Chains"). cc -std=c99 chain.c -lconvx
 * conv 3x3 + batch norm + ReLU, a second conv + batch norm added to the input (residual) + ReLU,
 * global average pool, fully connected, softmax. */
#include <convx/convx.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call) do { convxStatus_t s_ = (call); if (s_ != CONVX_STATUS_SUCCESS) {     \
        char m_[512]; convxGetLastErrorString(m_, sizeof m_);                             \
        fprintf(stderr, "%s\n  -> %s: %s\n", #call, convxGetErrorString(s_), m_); exit(1); } } while (0)

enum { N = 1, C = 8, H = 16, W = 16, CLASSES = 10 };

int main(void) {
    static float x[N * C * H * W], w1[C * C * 9], w2[C * C * 9], fc[CLASSES * C], y[N * CLASSES];
    static float mean[C], var[C], gamma[C], beta[C];
    convxHandle_t h; convxChain_t chain;
    int in, a, b, s, id, i; size_t ws_bytes, need; void* ws; char* text;
    for (i = 0; i < N * C * H * W; ++i) x[i] = (float)(i % 7) * 0.25f - 0.75f;
    for (i = 0; i < C * C * 9; ++i) w1[i] = w2[i] = (float)(i % 5) * 0.05f - 0.1f;
    for (i = 0; i < CLASSES * C; ++i) fc[i] = (float)(i % 3) * 0.1f;
    for (i = 0; i < C; ++i) mean[i] = 0.1f, var[i] = 1.0f, gamma[i] = 1.0f, beta[i] = 0.0f;

    CHECK(convxCreateWithBackend(&h, CONVX_BACKEND_CPU));
    CHECK(convxChainCreate(h, &chain, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT));
    CHECK(convxChainAddInput(chain, N, C, H, W, &in));
    /* weights are copied here, in PyTorch layouts (conv K x C/groups x R x S) */
    CHECK(convxChainAddConvolution(chain, in, C, 3, 3, 1, 1, 1, 1, 1, 1, 1, w1, NULL, &a));
    CHECK(convxChainAddBatchNorm(chain, a, mean, var, gamma, beta, 1e-5f, &a));
    CHECK(convxChainAddActivation(chain, a, CONVX_CHAIN_RELU, 0.0f, &a));
    CHECK(convxChainAddConvolution(chain, a, C, 3, 3, 1, 1, 1, 1, 1, 1, 1, w2, NULL, &b));
    CHECK(convxChainAddBatchNorm(chain, b, mean, var, gamma, beta, 1e-5f, &b));
    CHECK(convxChainAddAdd(chain, b, in, &b));                      /* residual */
    CHECK(convxChainAddActivation(chain, b, CONVX_CHAIN_RELU, 0.0f, &b));
    CHECK(convxChainAddPooling(chain, b, CONVX_CHAIN_POOL_GLOBAL_AVG, 0, 0, 1, 1, 0, 0, &s));
    CHECK(convxChainAddFullyConnected(chain, s, CLASSES, fc, NULL, &s));
    CHECK(convxChainAddSoftmax(chain, s, &id));
    CHECK(convxChainMarkOutput(chain, id));
    CHECK(convxChainFinalize(chain, 1));                            /* lower, fuse, plan */

    CHECK(convxChainDescribe(chain, NULL, 0, &need));
    text = malloc(need);
    CHECK(convxChainDescribe(chain, text, need, NULL));
    fputs(text, stdout);
    CHECK(convxChainGetWorkspaceSize(chain, &ws_bytes));
    ws = ws_bytes ? malloc(ws_bytes) : NULL;
    {
        const void* inputs[1] = {x};
        void* outputs[1] = {y};
        CHECK(convxChainExecute(chain, inputs, outputs, ws, ws_bytes));
    }
    printf("y[0..2] = %g %g %g\n", y[0], y[1], y[2]);
    free(ws); free(text);
    CHECK(convxChainDestroy(chain));
    CHECK(convxDestroy(h));
    return 0;
}
