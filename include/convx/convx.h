/*
 * convx — convolutions with a stable C ABI in the style of cuDNN's legacy API.
 *
 * One header, C99, no CUDA header needed. Every function returns a convxStatus_t;
 * on failure the detail (naming the offending argument) is kept per thread and read
 * with convxGetLastErrorString.
 *
 * Conventions (as in cuDNN):
 *  - sizes, pads, strides and dilations are int; dilation 1 means none;
 *  - tensor dims are given N, C, spatial... whatever the memory format;
 *  - a forward filter is K x (C/groups) x spatial... (format NCHW) or
 *    K x spatial... x (C/groups) (format NHWC); Nd filter dims are always K, C/groups, spatial...;
 *  - alpha/beta are host pointers to float (double for double tensors):
 *    out = alpha * result + beta * out; with beta == 0 the output is never read.
 *  - tensors are named by role: x, w, y for forward; dx, dy, dw for the backward directions.
 */
#ifndef CONVX_CONVX_H
#define CONVX_CONVX_H

#include <stddef.h>

#include "convx/convx_export.h"
#include "convx/convx_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

typedef enum {
    CONVX_STATUS_SUCCESS = 0,

    CONVX_STATUS_NOT_INITIALIZED = 1001,

    CONVX_STATUS_BAD_PARAM = 2000,
    CONVX_STATUS_BAD_PARAM_NULL_POINTER = 2002,
    CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER = 2003,
    CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND = 2005,          /* negative, zero or overflowing size */
    CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE = 2006,
    CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH = 2008,
    CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR = 2012,    /* destroyed, never created or never set */

    CONVX_STATUS_NOT_SUPPORTED = 3000,
    CONVX_STATUS_NOT_SUPPORTED_ALGORITHM = 3001,         /* the requested algorithm does not apply */
    CONVX_STATUS_NOT_SUPPORTED_SHAPE = 3002,
    CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE = 3003,
    CONVX_STATUS_NOT_SUPPORTED_LAYOUT = 3004,
    CONVX_STATUS_NOT_SUPPORTED_BACKEND = 3008,           /* e.g. no CUDA driver or device */

    CONVX_STATUS_INTERNAL_ERROR = 4000,
    CONVX_STATUS_ALLOC_FAILED = 4003,
    CONVX_STATUS_DEVICE_ALLOC_FAILED = 4004,

    CONVX_STATUS_EXECUTION_FAILED = 5000,
    CONVX_STATUS_EXECUTION_FAILED_CUDART = 5003
} convxStatus_t;

/* Category of a status: its value rounded down to the thousand (cuDNN 9 style). */
#define CONVX_STATUS_CATEGORY(s) (((int)(s) / 1000) * 1000)

/* Static text for a status code; never NULL. */
CONVX_API const char* convxGetErrorString(convxStatus_t status);

/* Copies the last failure message of the calling thread into message (truncated, always
 * NUL-terminated when max_size > 0). Each failing call replaces it; a successful call leaves it. */
CONVX_API void convxGetLastErrorString(char* message, size_t max_size);

/* CONVX_VERSION of the library actually loaded (major*10000 + minor*100 + patch). */
CONVX_API size_t convxGetVersion(void);

/* ---------------------------------------------------------------- enums */

typedef enum { CONVX_BACKEND_CUDA = 0, CONVX_BACKEND_CPU = 1 } convxBackend_t;

typedef enum { CONVX_TENSOR_NCHW = 0, CONVX_TENSOR_NHWC = 1 } convxTensorFormat_t;

typedef enum {
    CONVX_DATA_FLOAT = 0,
    CONVX_DATA_DOUBLE = 1,
    CONVX_DATA_HALF = 2,
    CONVX_DATA_BFLOAT16 = 9
} convxDataType_t;

typedef enum { CONVX_CONVOLUTION = 0, CONVX_CROSS_CORRELATION = 1 } convxConvolutionMode_t;

typedef enum {
    CONVX_DEFAULT_MATH = 0,
    CONVX_TENSOR_OP_MATH = 1,
    CONVX_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
    CONVX_FMA_MATH = 3
} convxMathType_t;

typedef enum { CONVX_NON_DETERMINISTIC = 0, CONVX_DETERMINISTIC = 1 } convxDeterminism_t;

/* Algorithm ids are stable and never reused; new ones are appended. */
typedef enum {
    CONVX_ALGO_AUTO = 0,
    CONVX_ALGO_REFERENCE = 1,
    CONVX_ALGO_DIRECT_COALESCED = 2,
    CONVX_ALGO_FILTER_TRIM = 3,
    CONVX_ALGO_KERNEL_SPLIT = 4,
    CONVX_ALGO_SPLIT_K = 5,
    CONVX_ALGO_DILATION_SPLIT = 6,
    CONVX_ALGO_DEPTHWISE = 7,
    CONVX_ALGO_GCONV = 8,
    CONVX_ALGO_CUDNN = 9
} convxConvAlgo_t;

#define CONVX_ALGO_COUNT 10

/* Largest tensor rank (N, C + 3 spatial dims) and spatial rank. */
#define CONVX_DIM_MAX 5
#define CONVX_SPATIAL_DIM_MAX 3

/* ---------------------------------------------------------------- objects */

typedef struct convxContext* convxHandle_t;
typedef struct convxTensorStruct* convxTensorDescriptor_t;
typedef struct convxFilterStruct* convxFilterDescriptor_t;
typedef struct convxConvolutionStruct* convxConvolutionDescriptor_t;

/* One entry of an algorithm ranking (Get*) or timing (Find*). time is in ms, -1 when not timed. */
typedef struct {
    convxConvAlgo_t algo;
    convxStatus_t status;
    float time;
    size_t memory;
    convxDeterminism_t determinism;
    convxMathType_t mathType;
    int reserved[3];
} convxAlgoPerf_t;

/* ---------------------------------------------------------------- handle */

/* A handle on the CUDA backend, current device. Without a CUDA driver or device:
 * CONVX_STATUS_NOT_SUPPORTED_BACKEND. */
CONVX_API convxStatus_t convxCreate(convxHandle_t* handle);
CONVX_API convxStatus_t convxCreateWithBackend(convxHandle_t* handle, convxBackend_t backend);
CONVX_API convxStatus_t convxDestroy(convxHandle_t handle);
CONVX_API convxStatus_t convxGetBackend(convxHandle_t handle, convxBackend_t* backend);
/* stream is a cudaStream_t; a CPU handle accepts only NULL. */
CONVX_API convxStatus_t convxSetStream(convxHandle_t handle, void* stream);
CONVX_API convxStatus_t convxGetStream(convxHandle_t handle, void** stream);
/* Threads for CPU kernels; 0 = the OpenMP default. */
CONVX_API convxStatus_t convxSetNumThreads(convxHandle_t handle, int num_threads);
CONVX_API convxStatus_t convxGetNumThreads(convxHandle_t handle, int* num_threads);

/* ---------------------------------------------------------------- tensors */

CONVX_API convxStatus_t convxCreateTensorDescriptor(convxTensorDescriptor_t* desc);
CONVX_API convxStatus_t convxDestroyTensorDescriptor(convxTensorDescriptor_t desc);
CONVX_API convxStatus_t convxSetTensor4dDescriptor(convxTensorDescriptor_t desc, convxTensorFormat_t format,
                                                   convxDataType_t dtype, int n, int c, int h, int w);
CONVX_API convxStatus_t convxSetTensor4dDescriptorEx(convxTensorDescriptor_t desc, convxDataType_t dtype, int n,
                                                     int c, int h, int w, int n_stride, int c_stride, int h_stride,
                                                     int w_stride);
CONVX_API convxStatus_t convxGetTensor4dDescriptor(convxTensorDescriptor_t desc, convxDataType_t* dtype, int* n,
                                                   int* c, int* h, int* w, int* n_stride, int* c_stride,
                                                   int* h_stride, int* w_stride);
/* nb_dims 3..5: N, C, then 1 to 3 spatial dims, with explicit strides (in elements). */
CONVX_API convxStatus_t convxSetTensorNdDescriptor(convxTensorDescriptor_t desc, convxDataType_t dtype, int nb_dims,
                                                   const int dims[], const int strides[]);
/* nb_dims 3..5, packed in the given format (channels first or last). */
CONVX_API convxStatus_t convxSetTensorNdDescriptorEx(convxTensorDescriptor_t desc, convxTensorFormat_t format,
                                                     convxDataType_t dtype, int nb_dims, const int dims[]);
CONVX_API convxStatus_t convxGetTensorNdDescriptor(convxTensorDescriptor_t desc, int nb_dims_requested,
                                                   convxDataType_t* dtype, int* nb_dims, int dims[], int strides[]);
/* Bytes a tensor of this descriptor spans (largest offset + 1, times the element size). */
CONVX_API convxStatus_t convxGetTensorSizeInBytes(convxTensorDescriptor_t desc, size_t* size);

/* ---------------------------------------------------------------- filters */

CONVX_API convxStatus_t convxCreateFilterDescriptor(convxFilterDescriptor_t* desc);
CONVX_API convxStatus_t convxDestroyFilterDescriptor(convxFilterDescriptor_t desc);
CONVX_API convxStatus_t convxSetFilter4dDescriptor(convxFilterDescriptor_t desc, convxDataType_t dtype,
                                                   convxTensorFormat_t format, int k, int c, int r, int s);
CONVX_API convxStatus_t convxGetFilter4dDescriptor(convxFilterDescriptor_t desc, convxDataType_t* dtype,
                                                   convxTensorFormat_t* format, int* k, int* c, int* r, int* s);
/* nb_dims 3..5: K, C/groups, then 1 to 3 spatial dims, whatever the format. */
CONVX_API convxStatus_t convxSetFilterNdDescriptor(convxFilterDescriptor_t desc, convxDataType_t dtype,
                                                   convxTensorFormat_t format, int nb_dims, const int dims[]);
CONVX_API convxStatus_t convxGetFilterNdDescriptor(convxFilterDescriptor_t desc, int nb_dims_requested,
                                                   convxDataType_t* dtype, convxTensorFormat_t* format,
                                                   int* nb_dims, int dims[]);
CONVX_API convxStatus_t convxGetFilterSizeInBytes(convxFilterDescriptor_t desc, size_t* size);

/* ---------------------------------------------------------------- convolutions */

CONVX_API convxStatus_t convxCreateConvolutionDescriptor(convxConvolutionDescriptor_t* desc);
CONVX_API convxStatus_t convxDestroyConvolutionDescriptor(convxConvolutionDescriptor_t desc);
/* compute_type: the accumulation type (FLOAT for float/half/bfloat16 data, DOUBLE for double). */
CONVX_API convxStatus_t convxSetConvolution2dDescriptor(convxConvolutionDescriptor_t desc, int pad_h, int pad_w,
                                                        int u, int v, int dilation_h, int dilation_w,
                                                        convxConvolutionMode_t mode, convxDataType_t compute_type);
CONVX_API convxStatus_t convxGetConvolution2dDescriptor(convxConvolutionDescriptor_t desc, int* pad_h, int* pad_w,
                                                        int* u, int* v, int* dilation_h, int* dilation_w,
                                                        convxConvolutionMode_t* mode, convxDataType_t* compute_type);
/* array_length 1..3 spatial dims (1-D, 2-D, 3-D convolutions). */
CONVX_API convxStatus_t convxSetConvolutionNdDescriptor(convxConvolutionDescriptor_t desc, int array_length,
                                                        const int pads[], const int strides[],
                                                        const int dilations[], convxConvolutionMode_t mode,
                                                        convxDataType_t compute_type);
CONVX_API convxStatus_t convxGetConvolutionNdDescriptor(convxConvolutionDescriptor_t desc,
                                                        int array_length_requested, int* array_length, int pads[],
                                                        int strides[], int dilations[],
                                                        convxConvolutionMode_t* mode,
                                                        convxDataType_t* compute_type);
CONVX_API convxStatus_t convxSetConvolutionGroupCount(convxConvolutionDescriptor_t desc, int group_count);
CONVX_API convxStatus_t convxGetConvolutionGroupCount(convxConvolutionDescriptor_t desc, int* group_count);
CONVX_API convxStatus_t convxSetConvolutionMathType(convxConvolutionDescriptor_t desc, convxMathType_t math_type);
CONVX_API convxStatus_t convxGetConvolutionMathType(convxConvolutionDescriptor_t desc, convxMathType_t* math_type);

/* out = 1 + (in + 2*pad - ((k-1)*dilation + 1)) / stride, per spatial dim. */
CONVX_API convxStatus_t convxGetConvolution2dForwardOutputDim(convxConvolutionDescriptor_t conv,
                                                              convxTensorDescriptor_t x_desc,
                                                              convxFilterDescriptor_t w_desc, int* n, int* c,
                                                              int* h, int* w);
CONVX_API convxStatus_t convxGetConvolutionNdForwardOutputDim(convxConvolutionDescriptor_t conv,
                                                              convxTensorDescriptor_t x_desc,
                                                              convxFilterDescriptor_t w_desc, int nb_dims,
                                                              int output_dims[]);

/* ---------------------------------------------------------------- algorithms */

/* Name of an algorithm ("reference", "direct_coalesced", ...) as CONVX_ALGO and logs spell it;
 * NULL for an unknown id. */
CONVX_API const char* convxGetAlgorithmName(convxConvAlgo_t algo);

CONVX_API convxStatus_t convxGetConvolutionForwardAlgorithmMaxCount(convxHandle_t handle, int* count);
CONVX_API convxStatus_t convxGetConvolutionBackwardDataAlgorithmMaxCount(convxHandle_t handle, int* count);
CONVX_API convxStatus_t convxGetConvolutionBackwardFilterAlgorithmMaxCount(convxHandle_t handle, int* count);

/* Ranks every algorithm of the handle's backend without running anything: applicable ones
 * first, in the selector's order, then the others with their NOT_SUPPORTED status. */
CONVX_API convxStatus_t convxGetConvolutionForwardAlgorithm(convxHandle_t handle, convxTensorDescriptor_t x_desc,
                                                            convxFilterDescriptor_t w_desc,
                                                            convxConvolutionDescriptor_t conv,
                                                            convxTensorDescriptor_t y_desc, int requested_count,
                                                            int* returned_count, convxAlgoPerf_t* results);
CONVX_API convxStatus_t convxGetConvolutionBackwardDataAlgorithm(convxHandle_t handle,
                                                                 convxFilterDescriptor_t w_desc,
                                                                 convxTensorDescriptor_t dy_desc,
                                                                 convxConvolutionDescriptor_t conv,
                                                                 convxTensorDescriptor_t dx_desc,
                                                                 int requested_count, int* returned_count,
                                                                 convxAlgoPerf_t* results);
CONVX_API convxStatus_t convxGetConvolutionBackwardFilterAlgorithm(convxHandle_t handle,
                                                                   convxTensorDescriptor_t x_desc,
                                                                   convxTensorDescriptor_t dy_desc,
                                                                   convxConvolutionDescriptor_t conv,
                                                                   convxFilterDescriptor_t dw_desc,
                                                                   int requested_count, int* returned_count,
                                                                   convxAlgoPerf_t* results);

/* Times every applicable algorithm on the caller's buffers (the output is overwritten) and
 * returns them fastest first. Algorithms needing more than workspace_bytes are reported
 * with CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE and not run. */
CONVX_API convxStatus_t convxFindConvolutionForwardAlgorithm(
    convxHandle_t handle, convxTensorDescriptor_t x_desc, const void* x, convxFilterDescriptor_t w_desc,
    const void* w, convxConvolutionDescriptor_t conv, convxTensorDescriptor_t y_desc, void* y,
    int requested_count, int* returned_count, convxAlgoPerf_t* results, void* workspace, size_t workspace_bytes);
CONVX_API convxStatus_t convxFindConvolutionBackwardDataAlgorithm(
    convxHandle_t handle, convxFilterDescriptor_t w_desc, const void* w, convxTensorDescriptor_t dy_desc,
    const void* dy, convxConvolutionDescriptor_t conv, convxTensorDescriptor_t dx_desc, void* dx,
    int requested_count, int* returned_count, convxAlgoPerf_t* results, void* workspace, size_t workspace_bytes);
CONVX_API convxStatus_t convxFindConvolutionBackwardFilterAlgorithm(
    convxHandle_t handle, convxTensorDescriptor_t x_desc, const void* x, convxTensorDescriptor_t dy_desc,
    const void* dy, convxConvolutionDescriptor_t conv, convxFilterDescriptor_t dw_desc, void* dw,
    int requested_count, int* returned_count, convxAlgoPerf_t* results, void* workspace, size_t workspace_bytes);

/* Workspace bytes the algorithm needs (for CONVX_ALGO_AUTO: the algorithm AUTO would pick). */
CONVX_API convxStatus_t convxGetConvolutionForwardWorkspaceSize(convxHandle_t handle,
                                                                convxTensorDescriptor_t x_desc,
                                                                convxFilterDescriptor_t w_desc,
                                                                convxConvolutionDescriptor_t conv,
                                                                convxTensorDescriptor_t y_desc,
                                                                convxConvAlgo_t algo, size_t* size);
CONVX_API convxStatus_t convxGetConvolutionBackwardDataWorkspaceSize(convxHandle_t handle,
                                                                     convxFilterDescriptor_t w_desc,
                                                                     convxTensorDescriptor_t dy_desc,
                                                                     convxConvolutionDescriptor_t conv,
                                                                     convxTensorDescriptor_t dx_desc,
                                                                     convxConvAlgo_t algo, size_t* size);
CONVX_API convxStatus_t convxGetConvolutionBackwardFilterWorkspaceSize(convxHandle_t handle,
                                                                       convxTensorDescriptor_t x_desc,
                                                                       convxTensorDescriptor_t dy_desc,
                                                                       convxConvolutionDescriptor_t conv,
                                                                       convxFilterDescriptor_t dw_desc,
                                                                       convxConvAlgo_t algo, size_t* size);

/* ---------------------------------------------------------------- execution */

/* y = alpha * conv(x, w) + beta * y */
CONVX_API convxStatus_t convxConvolutionForward(convxHandle_t handle, const void* alpha,
                                                convxTensorDescriptor_t x_desc, const void* x,
                                                convxFilterDescriptor_t w_desc, const void* w,
                                                convxConvolutionDescriptor_t conv, convxConvAlgo_t algo,
                                                void* workspace, size_t workspace_bytes, const void* beta,
                                                convxTensorDescriptor_t y_desc, void* y);

/* dx = alpha * conv_transpose(dy, w) + beta * dx  (a transposed convolution is this call; see
 * convxConvolutionTransposeForward below for the same call in ConvTranspose terms) */
CONVX_API convxStatus_t convxConvolutionBackwardData(convxHandle_t handle, const void* alpha,
                                                     convxFilterDescriptor_t w_desc, const void* w,
                                                     convxTensorDescriptor_t dy_desc, const void* dy,
                                                     convxConvolutionDescriptor_t conv, convxConvAlgo_t algo,
                                                     void* workspace, size_t workspace_bytes, const void* beta,
                                                     convxTensorDescriptor_t dx_desc, void* dx);

/* dw = alpha * grad_w(x, dy) + beta * dw */
CONVX_API convxStatus_t convxConvolutionBackwardFilter(convxHandle_t handle, const void* alpha,
                                                       convxTensorDescriptor_t x_desc, const void* x,
                                                       convxTensorDescriptor_t dy_desc, const void* dy,
                                                       convxConvolutionDescriptor_t conv, convxConvAlgo_t algo,
                                                       void* workspace, size_t workspace_bytes, const void* beta,
                                                       convxFilterDescriptor_t dw_desc, void* dw);

/* ---------------------------------------------------------------- transposed convolution */

/* A transposed convolution (PyTorch's ConvTranspose1d/2d/3d) in its own terms. It is exactly
 * convxConvolutionBackwardData of the same convolution descriptor — same algorithms, same
 * selection, same result bit for bit, same CONVX_LOG lines (the bwd_d problem string):
 *  - x (N x in_channels x in...) is the ConvTranspose's input; it takes the dy role;
 *  - w is PyTorch's ConvTranspose weight, in_channels x out_channels/groups x k..., which is the
 *    convolution's K x C/groups x k... filter (a filter descriptor with k = in_channels);
 *  - y (N x out_channels x out...) is its output; it takes the dx role;
 *  - pads, strides, dilations, groups and mode are the convolution descriptor's (PyTorch's
 *    ConvTranspose is CONVX_CROSS_CORRELATION).
 * Per spatial dim, as in PyTorch:
 *   out = (in - 1)*stride - 2*pad + (k - 1)*dilation + 1 + output_padding,
 * with 0 <= output_padding < max(stride, dilation); convx computes output_padding < stride
 * (larger values, which PyTorch allows when dilation > stride, are NOT_SUPPORTED_SHAPE: the
 * convolution does not map such outputs back onto x, so they are no BackwardData). */

/* N, out_channels and the spatial sizes for the given output_padding (an array of one entry per
 * spatial dim; NULL means zeros); nb_dims must equal x's rank. */
CONVX_API convxStatus_t convxGetConvolutionTransposeNdOutputDim(convxConvolutionDescriptor_t conv,
                                                                convxTensorDescriptor_t x_desc,
                                                                convxFilterDescriptor_t w_desc,
                                                                const int output_padding[], int nb_dims,
                                                                int output_dims[]);
CONVX_API convxStatus_t convxGetConvolutionTranspose2dOutputDim(convxConvolutionDescriptor_t conv,
                                                                convxTensorDescriptor_t x_desc,
                                                                convxFilterDescriptor_t w_desc, int output_padding_h,
                                                                int output_padding_w, int* n, int* c, int* h, int* w);

/* y = alpha * conv_transpose(x, w) + beta * y. y's spatial sizes may be any the formula gives
 * for 0 <= output_padding < stride (other sizes: BAD_PARAM_SHAPE_MISMATCH). */
CONVX_API convxStatus_t convxConvolutionTransposeForward(convxHandle_t handle, const void* alpha,
                                                         convxTensorDescriptor_t x_desc, const void* x,
                                                         convxFilterDescriptor_t w_desc, const void* w,
                                                         convxConvolutionDescriptor_t conv, convxConvAlgo_t algo,
                                                         void* workspace, size_t workspace_bytes, const void* beta,
                                                         convxTensorDescriptor_t y_desc, void* y);

/* Workspace bytes convxConvolutionTransposeForward needs with this algorithm: those of the
 * BackwardData call it is. */
CONVX_API convxStatus_t convxGetConvolutionTransposeForwardWorkspaceSize(convxHandle_t handle,
                                                                         convxTensorDescriptor_t x_desc,
                                                                         convxFilterDescriptor_t w_desc,
                                                                         convxConvolutionDescriptor_t conv,
                                                                         convxTensorDescriptor_t y_desc,
                                                                         convxConvAlgo_t algo, size_t* size);

/* ================================================================ GCONV
 * The general convolution: the convolution loop nest with operator slots. For each output
 * element (n, k in group g, output position o):
 *   v(c, tap) = padded tap ? (skipped unless reduce == SUM; then pad_value)
 *                          : pre(preScale[c] * x[n, c, i] + preShift[c])
 *   acc       = reduce over the group's input channels c and the window taps of map(v, w[k, c, tap])
 *   t         = postScale[k] * acc + postShift[k]     (per-channel affine, when enabled)
 *   t         = t + z[n, k, o]  or  t * z[n, k, o]    (combine; z may broadcast dims of size 1)
 *   y         = alpha * post(t) + beta * y           (beta == 0 never reads y)
 * MEAN divides by the number of (channel, tap) pairs that took part (valid taps only); MAX and
 * MIN never see a padded tap (as -inf / +inf); a window without any valid tap gives 0. An
 * ordinary convolution is (MUL, SUM, IDENTITY, IDENTITY); max/avg pooling is (PASS, MAX/MEAN)
 * with groups = C and no filter; batch norm is a 1x1 window with a per-channel affine; a
 * residual add is combine ADD. Geometry (pads, strides, dilations, groups, CONVOLUTION mode)
 * means what it means for convxConvolutionForward; tensors may have any strides. The engine is
 * the same on both backends (CPU, CUDA); per-channel vectors are fp32 (device memory on CUDA).
 * docs/algorithms/gconv.md has the definition, the operator table and the engines. */

typedef struct convxGconvStruct* convxGconvDescriptor_t;

typedef enum {
    CONVX_GCONV_MAP_MUL = 0, /* v * w */
    CONVX_GCONV_MAP_ADD = 1, /* v + w */
    CONVX_GCONV_MAP_PASS = 2 /* v (no filter; groups must equal C) */
} convxGconvMap_t;

typedef enum {
    CONVX_GCONV_REDUCE_SUM = 0,
    CONVX_GCONV_REDUCE_MAX = 1,
    CONVX_GCONV_REDUCE_MIN = 2,
    CONVX_GCONV_REDUCE_MEAN = 3 /* over the valid taps only */
} convxGconvReduce_t;

typedef enum {
    CONVX_GCONV_OP_IDENTITY = 0,
    CONVX_GCONV_OP_SQUARE = 1,
    CONVX_GCONV_OP_RELU = 2,
    CONVX_GCONV_OP_RELU6 = 3,
    CONVX_GCONV_OP_SIGMOID = 4,
    CONVX_GCONV_OP_TANH = 5,
    CONVX_GCONV_OP_EXP = 6,
    CONVX_GCONV_OP_RECIPROCAL = 7, /* 1 / v */
    CONVX_GCONV_OP_POW = 8,        /* v ^ param (v > 0) */
    CONVX_GCONV_OP_LEAKY_RELU = 9, /* v < 0 ? param * v : v */
    CONVX_GCONV_OP_SQRT = 10
} convxGconvOp_t;

typedef enum {
    CONVX_GCONV_COMBINE_NONE = 0,
    CONVX_GCONV_COMBINE_ADD = 1, /* t + z */
    CONVX_GCONV_COMBINE_MUL = 2  /* t * z */
} convxGconvCombine_t;

/* A new descriptor: no geometry yet; operators (MUL, SUM, IDENTITY, IDENTITY), no affine, no
 * combine, pad value 0. */
CONVX_API convxStatus_t convxCreateGconvDescriptor(convxGconvDescriptor_t* desc);
CONVX_API convxStatus_t convxDestroyGconvDescriptor(convxGconvDescriptor_t desc);

/* The geometry, as convxSetConvolutionNdDescriptor + convxSetConvolutionGroupCount take it
 * (array_length 1..3 spatial dims, dilation 1 = none, compute_type FLOAT or DOUBLE). */
CONVX_API convxStatus_t convxSetGconvNdGeometry(convxGconvDescriptor_t desc, int array_length, const int pads[],
                                                const int strides[], const int dilations[], int groups,
                                                convxConvolutionMode_t mode, convxDataType_t compute_type);
/* The geometry of a set convolution descriptor (pads, strides, dilations, groups, mode,
 * compute type, math type). */
CONVX_API convxStatus_t convxSetGconvGeometryFromConvolution(convxGconvDescriptor_t desc,
                                                              convxConvolutionDescriptor_t conv);
/* The window of a call without a filter (map PASS, w_desc NULL): array_length must be the
 * geometry's spatial rank. With a filter, its spatial dims must equal the window when set. */
CONVX_API convxStatus_t convxSetGconvWindow(convxGconvDescriptor_t desc, int array_length, const int window[]);
/* What a padded tap contributes under SUM (after the pre-op, before the map). Default 0. */
CONVX_API convxStatus_t convxSetGconvPadValue(convxGconvDescriptor_t desc, float pad_value);
CONVX_API convxStatus_t convxSetGconvMapReduce(convxGconvDescriptor_t desc, convxGconvMap_t map,
                                               convxGconvReduce_t reduce);
/* per_channel_affine != 0: the call's pre_scale / pre_shift (C floats each; either may be NULL
 * for 1 / 0) apply before op. param: POW's exponent, LEAKY_RELU's slope (finite). */
CONVX_API convxStatus_t convxSetGconvPreOp(convxGconvDescriptor_t desc, convxGconvOp_t op, float param,
                                           int per_channel_affine);
/* per_channel_affine != 0: post_scale / post_shift (K floats each, NULL for 1 / 0) apply to the
 * reduction before combine and op. */
CONVX_API convxStatus_t convxSetGconvPostOp(convxGconvDescriptor_t desc, convxGconvOp_t op, float param,
                                            int per_channel_affine);
CONVX_API convxStatus_t convxSetGconvCombine(convxGconvDescriptor_t desc, convxGconvCombine_t combine);

/* y's dims (N, K, spatial...) for x and w (w_desc NULL: map PASS with the window set; K = C).
 * nb_dims must equal x's rank. */
CONVX_API convxStatus_t convxGetGconvOutputDim(convxGconvDescriptor_t desc, convxTensorDescriptor_t x_desc,
                                               convxFilterDescriptor_t w_desc, int nb_dims, int output_dims[]);
CONVX_API convxStatus_t convxGetGconvWorkspaceSize(convxHandle_t handle, convxGconvDescriptor_t desc,
                                                   convxTensorDescriptor_t x_desc, convxFilterDescriptor_t w_desc,
                                                   convxTensorDescriptor_t y_desc, size_t* size);

/* y = alpha * post(combine(affine(reduce(map(pre(x), w))), z)) + beta * y.
 * w_desc / w: NULL allowed for map PASS (window from convxSetGconvWindow). z_desc / z: required
 * when combine is not NONE (ignored otherwise); z's dims equal y's or are 1 where it broadcasts;
 * its data type is y's. pre_* / post_*: read only when the matching affine is enabled. alpha and
 * beta point to float (double for DOUBLE data), as for convxConvolutionForward. */
CONVX_API convxStatus_t convxGconvForward(convxHandle_t handle, convxGconvDescriptor_t gconv_desc, const void* alpha,
                                          convxTensorDescriptor_t x_desc, const void* x,
                                          convxFilterDescriptor_t w_desc, const void* w,
                                          convxTensorDescriptor_t z_desc, const void* z, const float* pre_scale,
                                          const float* pre_shift, const float* post_scale, const float* post_shift,
                                          void* workspace, size_t workspace_bytes, const void* beta,
                                          convxTensorDescriptor_t y_desc, void* y);
/* ================================================================ end of GCONV */

/* ---------------------------------------------------------------- workspace limit and find-db */

/* The most workspace bytes an algorithm may need on this handle (default SIZE_MAX: no limit).
 * CONVX_ALGO_AUTO, the ranking of convxGet*Algorithm and convxFind*Algorithm never choose an
 * algorithm needing more (Get and Find report it with CONVX_STATUS_NOT_SUPPORTED_ALGORITHM and
 * its need in `memory`); an explicit algorithm (or CONVX_ALGO) needing more fails with
 * CONVX_STATUS_NOT_SUPPORTED_ALGORITHM. 0 allows only algorithms without workspace.
 * convxFind*Algorithm records its fastest algorithm in the find-db, which CONVX_ALGO_AUTO then
 * uses (environment: CONVX_FIND_DB, CONVX_FIND_MODE; see docs/api.md "Selection order"). */
CONVX_API convxStatus_t convxSetWorkspaceLimit(convxHandle_t handle, size_t bytes);
CONVX_API convxStatus_t convxGetWorkspaceLimit(convxHandle_t handle, size_t* bytes);

/* ================================================================ Chains
 * A chain is a whole CNN (inference) built layer by layer, lowered to general convolutions
 * (GCONV), fused (convolution + batch norm + activation + residual add in one pass where the
 * intermediate has one consumer and is not an output), given one workspace for every
 * intermediate, and run on the handle's backend and stream. Tensors are 4-D (N, C, H, W), fp32,
 * packed in the chain's format (NCHW or NHWC). Layers are named by the int id their Add call
 * returns (inputs too). Weights are host pointers in PyTorch layouts (convolution K x C/groups x
 * R x S, fully connected [out, in] with in flattened as C x H x W, batch-norm vectors of C); they
 * are copied at the Add call (uploaded at Finalize on CUDA). */

typedef struct convxChainStruct* convxChain_t;

typedef enum {
    CONVX_CHAIN_RELU = 0,
    CONVX_CHAIN_RELU6 = 1,
    CONVX_CHAIN_SIGMOID = 2,
    CONVX_CHAIN_TANH = 3,
    CONVX_CHAIN_LEAKY_RELU = 4 /* v < 0 ? param * v : v */
} convxChainActivation_t;

typedef enum {
    CONVX_CHAIN_POOL_MAX = 0,        /* padded taps never win (as -inf) */
    CONVX_CHAIN_POOL_AVG = 1,        /* mean over the valid (unpadded) taps */
    CONVX_CHAIN_POOL_GLOBAL_MAX = 2, /* window = the whole map; window arguments ignored */
    CONVX_CHAIN_POOL_GLOBAL_AVG = 3
} convxChainPooling_t;

/* format: CONVX_TENSOR_NCHW or _NHWC; dtype: CONVX_DATA_FLOAT (others: NOT_SUPPORTED_DATA_TYPE).
 * The chain keeps the handle; destroy the chain before the handle. */
CONVX_API convxStatus_t convxChainCreate(convxHandle_t handle, convxChain_t* chain, convxTensorFormat_t format,
                                         convxDataType_t dtype);
CONVX_API convxStatus_t convxChainDestroy(convxChain_t chain);

/* An input tensor; inputs are passed to Execute in the order they were added. */
CONVX_API convxStatus_t convxChainAddInput(convxChain_t chain, int n, int c, int h, int w, int* id);
/* Cross-correlation (PyTorch Conv2d). w: k x (C/groups) x r x s; bias: k floats or NULL.
 * Dilation 1 = none. */
CONVX_API convxStatus_t convxChainAddConvolution(convxChain_t chain, int input, int k, int r, int s, int stride_h,
                                                 int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                                                 int groups, const float* w, const float* bias, int* id);
/* Inference batch norm: y = gamma (x - mean) / sqrt(var + eps) + beta; vectors of C floats. */
CONVX_API convxStatus_t convxChainAddBatchNorm(convxChain_t chain, int input, const float* mean, const float* var,
                                               const float* gamma, const float* beta, float eps, int* id);
/* param: the negative slope of CONVX_CHAIN_LEAKY_RELU (ignored otherwise). */
CONVX_API convxStatus_t convxChainAddActivation(convxChain_t chain, int input, convxChainActivation_t mode,
                                                float param, int* id);
CONVX_API convxStatus_t convxChainAddPooling(convxChain_t chain, int input, convxChainPooling_t mode, int r, int s,
                                             int stride_h, int stride_w, int pad_h, int pad_w, int* id);
/* Output (N, out_features, 1, 1). w: out_features x (C*H*W) (PyTorch flatten order); bias or NULL. */
CONVX_API convxStatus_t convxChainAddFullyConnected(convxChain_t chain, int input, int out_features, const float* w,
                                                    const float* bias, int* id);
/* Residual add of two tensors of equal shape. */
CONVX_API convxStatus_t convxChainAddAdd(convxChain_t chain, int a, int b, int* id);
/* Concatenation along channels of count tensors of equal N, H, W. */
CONVX_API convxStatus_t convxChainAddConcat(convxChain_t chain, const int* inputs, int count, int* id);
/* Nearest-neighbour upsampling by integer factors. */
CONVX_API convxStatus_t convxChainAddUpsample(convxChain_t chain, int input, int scale_h, int scale_w, int* id);
/* Local response norm across channels (PyTorch LocalResponseNorm):
 * y = x / (k + alpha / size * sum of x^2 over channels [c - size/2, c + (size-1)/2]) ^ beta. */
CONVX_API convxStatus_t convxChainAddLRN(convxChain_t chain, int input, int size, float alpha, float beta, float k,
                                         int* id);
/* Softmax over channels at each (n, h, w). */
CONVX_API convxStatus_t convxChainAddSoftmax(convxChain_t chain, int input, int* id);
/* Outputs are passed to Execute in the order they were marked. A chain input cannot be an output. */
CONVX_API convxStatus_t convxChainMarkOutput(convxChain_t chain, int id);

/* Lowers, fuses (fuse != 0), plans buffers; no Add or Mark after it. */
CONVX_API convxStatus_t convxChainFinalize(convxChain_t chain, int fuse);
CONVX_API convxStatus_t convxChainGetWorkspaceSize(convxChain_t chain, size_t* bytes);
/* The GCONV list as text (one line per GCONV: problem, operators, buffers). Copies at most
 * max_size - 1 characters + NUL into text (text may be NULL when max_size is 0); *needed gets the
 * full length + 1. */
CONVX_API convxStatus_t convxChainDescribe(convxChain_t chain, char* text, size_t max_size, size_t* needed);
CONVX_API convxStatus_t convxChainGetTensorShape(convxChain_t chain, int id, int* n, int* c, int* h, int* w);
/* inputs/outputs: backend pointers (device memory on CUDA), packed in the chain's format.
 * Runs on the handle's stream (no synchronisation). */
CONVX_API convxStatus_t convxChainExecute(convxChain_t chain, const void* const* inputs, void* const* outputs,
                                          void* workspace, size_t workspace_bytes);
/* ================================================================ end of Chains */

#ifdef __cplusplus
}
#endif

#endif /* CONVX_CONVX_H */
