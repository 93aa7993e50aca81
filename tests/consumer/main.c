/* A consumer of an installed convx: version check and a CPU handle. */
#include <convx/convx.h>

#include <stdio.h>

int main(void) {
    convxHandle_t handle = NULL;
    convxBackend_t backend = CONVX_BACKEND_CUDA;
    convxStatus_t status;
    const size_t version = convxGetVersion();

    printf("convx runtime version %lu, header version %d\n", (unsigned long)version, CONVX_VERSION);
    if (version != (size_t)CONVX_VERSION) {
        fprintf(stderr, "version mismatch\n");
        return 1;
    }
    status = convxCreateWithBackend(&handle, CONVX_BACKEND_CPU);
    if (status != CONVX_STATUS_SUCCESS) {
        char message[256];
        convxGetLastErrorString(message, sizeof message);
        fprintf(stderr, "convxCreateWithBackend: %s: %s\n", convxGetErrorString(status), message);
        return 1;
    }
    if (convxGetBackend(handle, &backend) != CONVX_STATUS_SUCCESS || backend != CONVX_BACKEND_CPU) {
        fprintf(stderr, "wrong backend\n");
        return 1;
    }
    if (convxDestroy(handle) != CONVX_STATUS_SUCCESS) {
        fprintf(stderr, "convxDestroy failed\n");
        return 1;
    }
    printf("consumer OK\n");
    return 0;
}
