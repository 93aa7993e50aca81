/* A cuDNN client that loads cuDNN itself, as XLA/TensorFlow/JAX and Paddle do: dlopen
 * ("libcudnn.so.9") and dlsym from that handle, which LD_PRELOAD does not reach. It calls
 * cudnnGetVersion and one intercepted function (cudnnConvolutionForward with NULL arguments,
 * which needs no device) and prints the statuses. With CONVX_EXPECT_INTERPOSER=1 the interposer's
 * counters (looked up globally, then in the handle) must show that call passed through: true
 * with the forwarding libcudnn.so.9 first on LD_LIBRARY_PATH, false with the LD_PRELOAD form. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef size_t (*VersionFn)(void);
typedef int (*ForwardFn)(void*, const void*, void*, const void*, void*, const void*, void*, int, void*, size_t, const void*, void*,
                         void*);
typedef int (*CountersFn)(unsigned long long*, unsigned long long*, unsigned long long*);

static void* symbol(void* lib, const char* name) {
    void* p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "FAIL: dlsym(%s): %s\n", name, dlerror());
        exit(1);
    }
    return p;
}

int main(void) {
    void* lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "FAIL: dlopen(libcudnn.so.9): %s\n", dlerror());
        return 1;
    }
    VersionFn version;
    ForwardFn forward;
    void* p = symbol(lib, "cudnnGetVersion");
    memcpy(&version, &p, sizeof version);
    p = symbol(lib, "cudnnConvolutionForward");
    memcpy(&forward, &p, sizeof forward);
    const float one = 1.0f, zero = 0.0f;
    const int st = forward(NULL, &one, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, &zero, NULL, NULL);
    printf("statuses: version=%zu convolution_forward=%d\n", version(), st);

    CountersFn counters;
    p = dlsym(RTLD_DEFAULT, "convxInterposerCounters");
    if (!p) p = dlsym(lib, "convxInterposerCounters");
    memcpy(&counters, &p, sizeof counters);
    const char* expect = getenv("CONVX_EXPECT_INTERPOSER");
    if (expect && atoi(expect)) {
        unsigned long long handled = 0, run = 0, passed = 0;
        if (!counters) {
            fprintf(stderr, "FAIL: CONVX_EXPECT_INTERPOSER=1 but no interposer is loaded\n");
            return 1;
        }
        counters(&handled, &run, &passed);
        printf("interposer counters: handled %llu, run %llu, passed through %llu\n", handled, run, passed);
        if (passed != 1 || handled != 0) {
            fprintf(stderr, "FAIL: the interposer is loaded but was bypassed: it saw %llu of the 1 intercepted call\n", passed + handled);
            return 1;
        }
    } else if (counters) {
        fprintf(stderr, "FAIL: an interposer is loaded but CONVX_EXPECT_INTERPOSER is not set\n");
        return 1;
    }
    printf("OK\n");
    return 0;
}
