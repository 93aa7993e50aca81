// The body of every convolution entry point of the C API: validate the call (handle,
// descriptors, pointers, scaling, workspace), select an algorithm, and run, time or rank.
// Tensors are passed by role (x, w, y), whatever the direction; capi/ maps dx, dy, dw onto them.
#pragma once

#include "algorithm.h"
#include "context.h"
#include "convx/convx.h"
#include "descriptors.h"
#include "problem.h"

namespace convx {

convxContext& liveHandle(convxHandle_t h);

struct CallDescs {
    convxTensorDescriptor_t x;
    convxFilterDescriptor_t w;
    convxConvolutionDescriptor_t conv;
    convxTensorDescriptor_t y;
};

// The names messages give a call's arguments, by role: its descriptors and data pointers. The
// default (nullptr below) is the direction's own; an entry point that passes its arguments on in
// other roles (the transposed convolution: its x is dy, its y is dx) names them as its caller did.
struct CallNames {
    ArgNames desc;
    const char* x;
    const char* w;
    const char* y;
};

Problem problemOf(Direction dir, const CallDescs& d, const CallNames* names = nullptr);

void execute(convxHandle_t handle, Direction dir, const CallDescs& d, const Buffers& b, const void* alpha,
             const void* beta, convxConvAlgo_t algo, void* workspace, size_t workspaceBytes,
             const CallNames* names = nullptr);

void getAlgorithms(convxHandle_t handle, Direction dir, const CallDescs& d, int requested, int* returned,
                   convxAlgoPerf_t* results);

void findAlgorithms(convxHandle_t handle, Direction dir, const CallDescs& d, const Buffers& b, int requested,
                    int* returned, convxAlgoPerf_t* results, void* workspace, size_t workspaceBytes);

size_t workspaceSize(convxHandle_t handle, Direction dir, const CallDescs& d, convxConvAlgo_t algo,
                     const CallNames* names = nullptr);

int algorithmMaxCount(convxHandle_t handle, Direction dir);

// The convx-bench command line reproducing a call (for CONVX_LOG_CMD).
std::string benchCommand(const convxContext& h, const Problem& p, const char* algo);

}  // namespace convx
