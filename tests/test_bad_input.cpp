// Bad input: every public function answers a specific status, never a crash, and its thread's
// last error message names the offending argument.
#include <climits>
#include <set>
#include <thread>
#include <vector>

#include "conv_harness.h"
#include "execute.h"
#include "registry.h"

using testutil::ConvDesc;
using testutil::FilterDesc;
using testutil::Handle;
using testutil::TensorDesc;

namespace {

// A valid grouped, strided, padded, dilated 2-D forward problem in float:
// x 2x4x7x6, w 6x2x3x2 (groups 2), pad (1,0), stride (2,1), dilation (1,2) -> y 2x6x4x4.
struct Setup {
    Handle h;
    TensorDesc x, y;
    FilterDesc w;
    ConvDesc conv;
    std::vector<double> xb, wb, yb;  // double storage: aligned for every type
    float alpha = 1.0f, beta = 0.0f;

    Setup() : xb(2 * 4 * 7 * 6, 0.0), wb(6 * 2 * 3 * 2, 0.0), yb(2 * 6 * 4 * 4, 0.0) {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 7, 6));
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(conv, 1, 0, 2, 1, 1, 2, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(conv, 2));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 6, 4, 4));
        REQUIRE_CONVX_OK(fwd());
        REQUIRE_CONVX_OK(bwdData());
        REQUIRE_CONVX_OK(bwdFilter());
    }
    void* X() { return xb.data(); }
    void* W() { return wb.data(); }
    void* Y() { return yb.data(); }

    convxStatus_t fwd() {
        return convxConvolutionForward(h, &alpha, x, X(), w, W(), conv, CONVX_ALGO_AUTO, nullptr, 0, &beta, y, Y());
    }
    convxStatus_t bwdData() {
        return convxConvolutionBackwardData(h, &alpha, w, W(), y, Y(), conv, CONVX_ALGO_AUTO, nullptr, 0, &beta, x, X());
    }
    convxStatus_t bwdFilter() {
        return convxConvolutionBackwardFilter(h, &alpha, x, X(), y, Y(), conv, CONVX_ALGO_AUTO, nullptr, 0, &beta, w, W());
    }
};

template <class T>
T bogus(uintptr_t v) {
    return reinterpret_cast<T>(v);
}

}  // namespace

// ---------------------------------------------------------------- NULL pointers

TEST_CASE("bad input: NULL handle, descriptors, data, alpha and beta in the execute calls", "[bad-input]") {
    Setup s;
    const auto NP = CONVX_STATUS_BAD_PARAM_NULL_POINTER;
    float* a = &s.alpha;
    float* b = &s.beta;
    const auto A = CONVX_ALGO_AUTO;
    SECTION("forward") {
        CHECK_CONVX_FAILS(convxConvolutionForward(nullptr, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, nullptr, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "x_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, s.X(), nullptr, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "w_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, s.X(), s.w, s.W(), nullptr, A, nullptr, 0, b, s.y, s.Y()), NP, "conv_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, nullptr, s.Y()), NP, "y_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, nullptr, s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "x is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, s.X(), s.w, nullptr, s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "w is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, nullptr), NP, "y is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, nullptr, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "alpha is NULL");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, nullptr, s.y, s.Y()), NP, "beta is NULL");
    }
    SECTION("backward data") {
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(nullptr, a, s.w, s.W(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.x, s.X()), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, nullptr, s.W(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.x, s.X()), NP, "w_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, s.W(), nullptr, s.Y(), s.conv, A, nullptr, 0, b, s.x, s.X()), NP, "dy_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, s.W(), s.y, s.Y(), nullptr, A, nullptr, 0, b, s.x, s.X()), NP, "conv_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, s.W(), s.y, s.Y(), s.conv, A, nullptr, 0, b, nullptr, s.X()), NP, "dx_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, nullptr, s.y, s.Y(), s.conv, A, nullptr, 0, b, s.x, s.X()), NP, "w is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, s.W(), s.y, nullptr, s.conv, A, nullptr, 0, b, s.x, s.X()), NP, "dy is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, s.W(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.x, nullptr), NP, "dx is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, nullptr, s.w, s.W(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.x, s.X()), NP, "alpha is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, a, s.w, s.W(), s.y, s.Y(), s.conv, A, nullptr, 0, nullptr, s.x, s.X()), NP, "beta is NULL");
    }
    SECTION("backward filter") {
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(nullptr, a, s.x, s.X(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.w, s.W()), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, nullptr, s.X(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.w, s.W()), NP, "x_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, s.X(), nullptr, s.Y(), s.conv, A, nullptr, 0, b, s.w, s.W()), NP, "dy_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, s.X(), s.y, s.Y(), nullptr, A, nullptr, 0, b, s.w, s.W()), NP, "conv_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, s.X(), s.y, s.Y(), s.conv, A, nullptr, 0, b, nullptr, s.W()), NP, "dw_desc is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, nullptr, s.y, s.Y(), s.conv, A, nullptr, 0, b, s.w, s.W()), NP, "x is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, s.X(), s.y, nullptr, s.conv, A, nullptr, 0, b, s.w, s.W()), NP, "dy is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, s.X(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.w, nullptr), NP, "dw is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, nullptr, s.x, s.X(), s.y, s.Y(), s.conv, A, nullptr, 0, b, s.w, s.W()), NP, "alpha is NULL");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, a, s.x, s.X(), s.y, s.Y(), s.conv, A, nullptr, 0, nullptr, s.w, s.W()), NP, "beta is NULL");
    }
}

TEST_CASE("bad input: NULL pointers in the query calls", "[bad-input]") {
    Setup s;
    const auto NP = CONVX_STATUS_BAD_PARAM_NULL_POINTER;
    const auto OOB = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
    convxAlgoPerf_t r[CONVX_ALGO_COUNT];
    int n = 0;
    size_t ws = 0;
    SECTION("max count") {
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithmMaxCount(s.h, nullptr), NP, "count is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataAlgorithmMaxCount(s.h, nullptr), NP, "count is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterAlgorithmMaxCount(s.h, nullptr), NP, "count is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithmMaxCount(nullptr, &n), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataAlgorithmMaxCount(nullptr, &n), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterAlgorithmMaxCount(nullptr, &n), NP, "handle is NULL");
    }
    SECTION("get algorithm") {
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithm(s.h, s.x, s.w, s.conv, s.y, CONVX_ALGO_COUNT, nullptr, r), NP, "returned_count is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithm(s.h, s.x, s.w, s.conv, s.y, CONVX_ALGO_COUNT, &n, nullptr), NP, "results is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithm(s.h, s.x, s.w, s.conv, s.y, 0, &n, r), OOB, "requested_count");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithm(s.h, s.x, s.w, s.conv, s.y, -3, &n, r), OOB, "requested_count");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithm(nullptr, s.x, s.w, s.conv, s.y, 1, &n, r), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithm(s.h, nullptr, s.w, s.conv, s.y, 1, &n, r), NP, "x_desc is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataAlgorithm(s.h, s.w, s.y, s.conv, s.x, 1, nullptr, r), NP, "returned_count is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataAlgorithm(s.h, s.w, s.y, s.conv, s.x, 1, &n, nullptr), NP, "results is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataAlgorithm(s.h, s.w, nullptr, s.conv, s.x, 1, &n, r), NP, "dy_desc is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterAlgorithm(s.h, s.x, s.y, s.conv, s.w, 1, nullptr, r), NP, "returned_count is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterAlgorithm(s.h, s.x, s.y, s.conv, nullptr, 1, &n, r), NP, "dw_desc is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterAlgorithm(s.h, s.x, s.y, s.conv, s.w, 0, &n, r), OOB, "requested_count");
    }
    SECTION("find algorithm") {
        CHECK_CONVX_FAILS(convxFindConvolutionForwardAlgorithm(s.h, s.x, s.X(), s.w, s.W(), s.conv, s.y, s.Y(), 1, nullptr, r, nullptr, 0), NP, "returned_count is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionForwardAlgorithm(s.h, s.x, s.X(), s.w, s.W(), s.conv, s.y, s.Y(), 1, &n, nullptr, nullptr, 0), NP, "results is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionForwardAlgorithm(s.h, s.x, nullptr, s.w, s.W(), s.conv, s.y, s.Y(), 1, &n, r, nullptr, 0), NP, "x is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionForwardAlgorithm(s.h, s.x, s.X(), s.w, s.W(), s.conv, s.y, nullptr, 1, &n, r, nullptr, 0), NP, "y is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionForwardAlgorithm(s.h, s.x, s.X(), s.w, s.W(), s.conv, s.y, s.Y(), 0, &n, r, nullptr, 0), OOB, "requested_count");
        CHECK_CONVX_FAILS(convxFindConvolutionBackwardDataAlgorithm(s.h, s.w, s.W(), s.y, nullptr, s.conv, s.x, s.X(), 1, &n, r, nullptr, 0), NP, "dy is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionBackwardDataAlgorithm(s.h, s.w, s.W(), s.y, s.Y(), s.conv, s.x, nullptr, 1, &n, r, nullptr, 0), NP, "dx is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionBackwardDataAlgorithm(s.h, s.w, s.W(), s.y, s.Y(), s.conv, s.x, s.X(), 1, nullptr, r, nullptr, 0), NP, "returned_count is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionBackwardFilterAlgorithm(s.h, s.x, s.X(), s.y, s.Y(), s.conv, s.w, nullptr, 1, &n, r, nullptr, 0), NP, "dw is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionBackwardFilterAlgorithm(s.h, s.x, s.X(), s.y, s.Y(), s.conv, s.w, s.W(), 1, &n, nullptr, nullptr, 0), NP, "results is NULL");
        CHECK_CONVX_FAILS(convxFindConvolutionBackwardFilterAlgorithm(nullptr, s.x, s.X(), s.y, s.Y(), s.conv, s.w, s.W(), 1, &n, r, nullptr, 0), NP, "handle is NULL");
    }
    SECTION("workspace size") {
        CHECK_CONVX_FAILS(convxGetConvolutionForwardWorkspaceSize(s.h, s.x, s.w, s.conv, s.y, CONVX_ALGO_AUTO, nullptr), NP, "size is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataWorkspaceSize(s.h, s.w, s.y, s.conv, s.x, CONVX_ALGO_AUTO, nullptr), NP, "size is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterWorkspaceSize(s.h, s.x, s.y, s.conv, s.w, CONVX_ALGO_AUTO, nullptr), NP, "size is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionForwardWorkspaceSize(nullptr, s.x, s.w, s.conv, s.y, CONVX_ALGO_AUTO, &ws), NP, "handle is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardDataWorkspaceSize(s.h, s.w, s.y, nullptr, s.x, CONVX_ALGO_AUTO, &ws), NP, "conv_desc is NULL");
        CHECK_CONVX_FAILS(convxGetConvolutionBackwardFilterWorkspaceSize(s.h, s.x, s.y, s.conv, nullptr, CONVX_ALGO_AUTO, &ws), NP, "dw_desc is NULL");
    }
}

TEST_CASE("bad input: NULL out-pointers and descriptors in create, destroy, set and get", "[bad-input]") {
    Setup s;
    const auto NP = CONVX_STATUS_BAD_PARAM_NULL_POINTER;
    int i1 = 0, i2 = 0, i3 = 0, i4 = 0;
    int arr[5] = {1, 1, 1, 1, 1};
    size_t sz = 0;
    CHECK_CONVX_FAILS(convxCreate(nullptr), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxCreateWithBackend(nullptr, CONVX_BACKEND_CPU), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxCreateTensorDescriptor(nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxCreateFilterDescriptor(nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxCreateConvolutionDescriptor(nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxDestroy(nullptr), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxDestroyTensorDescriptor(nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxDestroyFilterDescriptor(nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxDestroyConvolutionDescriptor(nullptr), NP, "desc is NULL");
    // handle getters and setters
    CHECK_CONVX_FAILS(convxGetBackend(s.h, nullptr), NP, "backend is NULL");
    CHECK_CONVX_FAILS(convxGetStream(s.h, nullptr), NP, "stream is NULL");
    CHECK_CONVX_FAILS(convxGetNumThreads(s.h, nullptr), NP, "num_threads is NULL");
    convxBackend_t be;
    void* st;
    CHECK_CONVX_FAILS(convxGetBackend(nullptr, &be), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxSetStream(nullptr, nullptr), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxGetStream(nullptr, &st), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxSetNumThreads(nullptr, 1), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxGetNumThreads(nullptr, &i1), NP, "handle is NULL");
    // tensor descriptors
    CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(nullptr, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 1, 1, 1), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetTensor4dDescriptorEx(nullptr, CONVX_DATA_FLOAT, 1, 1, 1, 1, 1, 1, 1, 1), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(nullptr, CONVX_DATA_FLOAT, 4, arr, arr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(s.x, CONVX_DATA_FLOAT, 4, nullptr, arr), NP, "dims is NULL");
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(s.x, CONVX_DATA_FLOAT, 4, arr, nullptr), NP, "strides is NULL");
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(nullptr, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 4, arr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(s.x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 4, nullptr), NP, "dims is NULL");
    CHECK_CONVX_FAILS(convxGetTensorNdDescriptor(s.x, 4, nullptr, nullptr, nullptr, arr), NP, "dims is NULL");
    CHECK_CONVX_FAILS(convxGetTensorNdDescriptor(s.x, 4, nullptr, nullptr, arr, nullptr), NP, "strides is NULL");
    CHECK_CONVX_FAILS(convxGetTensorNdDescriptor(nullptr, 4, nullptr, nullptr, arr, arr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxGetTensor4dDescriptor(nullptr, nullptr, &i1, &i2, &i3, &i4, nullptr, nullptr, nullptr, nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxGetTensorSizeInBytes(s.x, nullptr), NP, "size is NULL");
    CHECK_CONVX_FAILS(convxGetTensorSizeInBytes(nullptr, &sz), NP, "desc is NULL");
    // filter descriptors
    CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(nullptr, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 1, 1, 1, 1), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(nullptr, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 4, arr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 4, nullptr), NP, "dims is NULL");
    CHECK_CONVX_FAILS(convxGetFilterNdDescriptor(s.w, 4, nullptr, nullptr, nullptr, nullptr), NP, "dims is NULL");
    CHECK_CONVX_FAILS(convxGetFilter4dDescriptor(nullptr, nullptr, nullptr, &i1, &i2, &i3, &i4), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxGetFilterSizeInBytes(s.w, nullptr), NP, "size is NULL");
    CHECK_CONVX_FAILS(convxGetFilterSizeInBytes(nullptr, &sz), NP, "desc is NULL");
    // convolution descriptors
    const int one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
    CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(nullptr, 0, 0, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(s.conv, 2, nullptr, one, one, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), NP, "pads is NULL");
    CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(s.conv, 2, zero, nullptr, one, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), NP, "strides is NULL");
    CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(s.conv, 2, zero, one, nullptr, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), NP, "dilations is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionNdDescriptor(s.conv, 2, nullptr, nullptr, arr, arr, nullptr, nullptr), NP, "pads is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionNdDescriptor(s.conv, 2, nullptr, arr, nullptr, arr, nullptr, nullptr), NP, "strides is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionNdDescriptor(s.conv, 2, nullptr, arr, arr, nullptr, nullptr, nullptr), NP, "dilations is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dDescriptor(nullptr, &i1, &i2, &i3, &i4, &i1, &i2, nullptr, nullptr), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxSetConvolutionGroupCount(nullptr, 1), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionGroupCount(s.conv, nullptr), NP, "group_count is NULL");
    CHECK_CONVX_FAILS(convxSetConvolutionMathType(nullptr, CONVX_DEFAULT_MATH), NP, "desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionMathType(s.conv, nullptr), NP, "math_type is NULL");
    // output dims
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, s.x, s.w, nullptr, &i2, &i3, &i4), NP, "n is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, s.x, s.w, &i1, nullptr, &i3, &i4), NP, "c is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, s.x, s.w, &i1, &i2, nullptr, &i4), NP, "h is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, s.x, s.w, &i1, &i2, &i3, nullptr), NP, "w is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(nullptr, s.x, s.w, &i1, &i2, &i3, &i4), NP, "conv is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, nullptr, s.w, &i1, &i2, &i3, &i4), NP, "x_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, s.x, nullptr, &i1, &i2, &i3, &i4), NP, "w_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionNdForwardOutputDim(s.conv, s.x, s.w, 4, nullptr), NP, "output_dims is NULL");
}

// ---------------------------------------------------------------- sizes

TEST_CASE("bad input: zero and negative sizes in every setter", "[bad-input]") {
    TensorDesc t;
    FilterDesc f;
    ConvDesc c;
    Handle h;
    const auto OOB = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
    for (int bad : {0, -1, INT_MIN}) {
        INFO("bad value " << bad);
        int d4[4] = {2, 3, 4, 5};
        for (int i = 0; i < 4; ++i) {
            int v[4] = {2, 3, 4, 5};
            v[i] = bad;
            const std::string name = "dims[" + std::to_string(i) + "]";
            CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, v[0], v[1], v[2], v[3]), OOB, name);
            CHECK_CONVX_FAILS(convxSetTensor4dDescriptorEx(t, CONVX_DATA_FLOAT, v[0], v[1], v[2], v[3], 60, 20, 5, 1), OOB, name);
            CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NHWC, CONVX_DATA_FLOAT, 4, v), OOB, name);
            const int s4[4] = {60, 20, 5, 1};
            CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(t, CONVX_DATA_FLOAT, 4, v, s4), OOB, name);
            CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, v[0], v[1], v[2], v[3]), OOB, name);
            CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NHWC, 4, v), OOB, name);
            // strides
            int s[4] = {60, 20, 5, 1};
            s[i] = bad;
            const std::string sname = "strides[" + std::to_string(i) + "]";
            CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(t, CONVX_DATA_FLOAT, 4, d4, s), OOB, sname);
            CHECK_CONVX_FAILS(convxSetTensor4dDescriptorEx(t, CONVX_DATA_FLOAT, 2, 3, 4, 5, s[0], s[1], s[2], s[3]), OOB, sname);
        }
        // 5-D and 3-D too
        int d5[5] = {1, 2, 3, 4, 5};
        d5[4] = bad;
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 5, d5), OOB, "dims[4]");
        CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 5, d5), OOB, "dims[4]");
        int d3[3] = {bad, 2, 3};
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, d3), OOB, "dims[0]");
        // convolution: stride and dilation must be >= 1, padding >= 0 (0 is fine)
        CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, 0, bad, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), OOB, "stride[0]");
        CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, 0, 1, bad, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), OOB, "stride[1]");
        CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, 0, 1, 1, bad, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), OOB, "dilation[0]");
        CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, bad, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), OOB, "dilation[1]");
        const int pads[3] = {0, 0, 0}, ones[3] = {1, 1, 1};
        const int badv[3] = {1, 1, bad};
        CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(c, 3, pads, badv, ones, CONVX_CONVOLUTION, CONVX_DATA_FLOAT), OOB, "stride[2]");
        CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(c, 3, pads, ones, badv, CONVX_CONVOLUTION, CONVX_DATA_FLOAT), OOB, "dilation[2]");
        CHECK_CONVX_FAILS(convxSetConvolutionGroupCount(c, bad), OOB, "group_count");
        if (bad < 0) {
            CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, bad, 0, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), OOB, "pad[0]");
            CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, bad, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), OOB, "pad[1]");
            const int badp[1] = {bad};
            CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(c, 1, badp, ones, ones, CONVX_CONVOLUTION, CONVX_DATA_FLOAT), OOB, "pad[0]");
            CHECK_CONVX_FAILS(convxSetNumThreads(h, bad), OOB, "num_threads");
        }
    }
    REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    REQUIRE_CONVX_OK(convxSetNumThreads(h, 0));
}

TEST_CASE("bad input: a failed setter leaves the descriptor as it was", "[bad-input]") {
    TensorDesc t;
    FilterDesc f;
    ConvDesc c;
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NHWC, CONVX_DATA_HALF, 2, 3, 4, 5));
    REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(f, CONVX_DATA_HALF, CONVX_TENSOR_NHWC, 6, 3, 2, 1));
    REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(c, 1, 2, 3, 4, 5, 6, CONVX_CONVOLUTION, CONVX_DATA_FLOAT));
    CHECK(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 7, 0, 7, 7) == CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND);
    CHECK(convxSetTensor4dDescriptor(t, static_cast<convxTensorFormat_t>(1), static_cast<convxDataType_t>(3), 7, 7, 7, 7) ==
          CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE);
    CHECK(convxSetFilter4dDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 7, 7, -7, 7) == CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND);
    CHECK(convxSetConvolution2dDescriptor(c, 0, 0, 0, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_DOUBLE) ==
          CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND);
    convxDataType_t dt;
    convxTensorFormat_t fmt;
    int n, ch, hh, ww, ns, cs, hs, ws;
    REQUIRE_CONVX_OK(convxGetTensor4dDescriptor(t, &dt, &n, &ch, &hh, &ww, &ns, &cs, &hs, &ws));
    CHECK(dt == CONVX_DATA_HALF);
    CHECK((n == 2 && ch == 3 && hh == 4 && ww == 5));
    CHECK((ns == 60 && cs == 1 && hs == 15 && ws == 3));
    REQUIRE_CONVX_OK(convxGetFilter4dDescriptor(f, &dt, &fmt, &n, &ch, &hh, &ww));
    CHECK(dt == CONVX_DATA_HALF);
    CHECK(fmt == CONVX_TENSOR_NHWC);
    CHECK((n == 6 && ch == 3 && hh == 2 && ww == 1));
    int p0, p1, u, v, d0, d1;
    convxConvolutionMode_t mode;
    REQUIRE_CONVX_OK(convxGetConvolution2dDescriptor(c, &p0, &p1, &u, &v, &d0, &d1, &mode, &dt));
    CHECK((p0 == 1 && p1 == 2 && u == 3 && v == 4 && d0 == 5 && d1 == 6));
    CHECK(mode == CONVX_CONVOLUTION);
    CHECK(dt == CONVX_DATA_FLOAT);
}

TEST_CASE("bad input: overflowing sizes and strides", "[bad-input]") {
    TensorDesc t;
    FilterDesc f;
    const auto OOB = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
    const int M = INT_MAX;
    // element counts beyond int64 (and beyond what size_t bytes can address)
    CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, M, M, M, M), OOB, "overflows");
    const int d5[5] = {M, M, M, M, M};
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NHWC, CONVX_DATA_DOUBLE, 5, d5), OOB, "overflows");
    CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, M, M, M, M), OOB, "overflows");
    CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 5, d5), OOB, "overflows");
    // 2^31 * 2^31 * 2 = 2^63 elements: just past int64
    const int d3[3] = {M, M, 3};
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, d3), OOB, "overflows");
    // a packed stride that does not fit the API's int
    CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 65536, 65536, 1), OOB, "exceeds INT_MAX");
    // huge strides: the memory span overflows
    const int dims3[3] = {M, 1, 1}, strides3[3] = {M, 1, 1};  // 2^31 elements, 2^62 apart
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(t, CONVX_DATA_FLOAT, 3, dims3, strides3), OOB, "span");
    const int dims4[4] = {M, 2, 2, 2}, strides4[4] = {M, M, M, M};
    CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(t, CONVX_DATA_FLOAT, 4, dims4, strides4), OOB, "span");
    CHECK_CONVX_FAILS(convxSetTensor4dDescriptorEx(t, CONVX_DATA_DOUBLE, M, M, 2, 2, M, M, M, M), OOB, "desc");
    // a valid descriptor whose output size exceeds INT_MAX
    TensorDesc x;
    ConvDesc c;
    const int xd[3] = {1, 1, M}, wd[3] = {1, 1, 1}, pad[1] = {M}, one[1] = {1};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, xd));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 3, wd));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(c, 1, pad, one, one, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    int out[3];
    CHECK_CONVX_FAILS(convxGetConvolutionNdForwardOutputDim(c, x, f, 3, out), OOB, "INT_MAX");
    size_t bytes = 0;
    REQUIRE_CONVX_OK(convxGetTensorSizeInBytes(x, &bytes));
    CHECK(bytes == static_cast<size_t>(M) * 4);
}

// ---------------------------------------------------------------- mismatched descriptors

TEST_CASE("bad input: descriptors that do not fit together", "[bad-input]") {
    Setup s;
    const auto MM = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;
    SECTION("x channels != w channels * groups") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 6, 7, 6));
        CHECK_CONVX_FAILS(s.fwd(), MM, "x_desc has C = 6");
        CHECK_CONVX_FAILS(s.fwd(), MM, "w_desc");
        CHECK_CONVX_FAILS(s.bwdData(), MM, "dx_desc has C = 6");
        CHECK_CONVX_FAILS(s.bwdFilter(), MM, "dw_desc");
        int d[4];
        CHECK_CONVX_FAILS(convxGetConvolutionNdForwardOutputDim(s.conv, s.x, s.w, 4, d), MM, "x_desc");
    }
    SECTION("groups that do not divide K") {
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 5, 2, 3, 2));
        CHECK_CONVX_FAILS(s.fwd(), MM, "not divisible by groups");
        CHECK_CONVX_FAILS(s.fwd(), MM, "w_desc has K = 5");
        CHECK_CONVX_FAILS(s.bwdFilter(), MM, "dw_desc has K = 5");
    }
    SECTION("groups that do not divide C") {
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(s.conv, 3));
        CHECK_CONVX_FAILS(s.fwd(), MM, "groups = 3");
    }
    SECTION("output descriptor of the wrong shape") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 6, 4, 5));
        CHECK_CONVX_FAILS(s.fwd(), MM, "y_desc has dims [2,6,4,5]");
        CHECK_CONVX_FAILS(s.fwd(), MM, "[2,6,4,4]");
        CHECK_CONVX_FAILS(s.bwdData(), MM, "dy_desc has dims");
        CHECK_CONVX_FAILS(s.bwdFilter(), MM, "dy_desc has dims");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, 6, 4, 4));
        CHECK_CONVX_FAILS(s.fwd(), MM, "y_desc");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 5, 4, 4));
        CHECK_CONVX_FAILS(s.fwd(), MM, "y_desc");
        const int d5[5] = {2, 6, 4, 4, 1};
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 5, d5));
        CHECK_CONVX_FAILS(s.fwd(), MM, "y_desc has 5 dims");
    }
    SECTION("data types differing between x, w and y") {
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_DOUBLE, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        CHECK_CONVX_FAILS(s.fwd(), CONVX_STATUS_BAD_PARAM, "w_desc has data type f64 but x_desc has f32");
        CHECK_CONVX_FAILS(s.bwdFilter(), CONVX_STATUS_BAD_PARAM, "dw_desc has data type f64");
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_HALF, 2, 6, 4, 4));
        CHECK_CONVX_FAILS(s.fwd(), CONVX_STATUS_BAD_PARAM, "y_desc has data type f16");
        CHECK_CONVX_FAILS(s.bwdData(), CONVX_STATUS_BAD_PARAM, "dy_desc has data type f16");
    }
    SECTION("compute type that does not suit the data type") {
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(s.conv, 1, 0, 2, 1, 1, 2, CONVX_CROSS_CORRELATION, CONVX_DATA_DOUBLE));
        CHECK_CONVX_FAILS(s.fwd(), CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "compute type f64");
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(s.conv, 1, 0, 2, 1, 1, 2, CONVX_CROSS_CORRELATION, CONVX_DATA_HALF));
        CHECK_CONVX_FAILS(s.bwdData(), CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "compute type f16");
    }
    SECTION("nb_dims of the tensors and the convolution descriptor disagree") {
        const int pads[1] = {0}, ones[1] = {1};
        REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(s.conv, 1, pads, ones, ones, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        CHECK_CONVX_FAILS(s.fwd(), MM, "conv_desc has 1 spatial dims");
        CHECK_CONVX_FAILS(s.bwdData(), MM, "conv_desc");
        CHECK_CONVX_FAILS(s.bwdFilter(), MM, "conv_desc");
        int h, w, n, c;
        CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(s.conv, s.x, s.w, &n, &c, &h, &w), MM, "conv has 1 spatial dims");
    }
    SECTION("filter rank differs from the tensors'") {
        const int wd[5] = {6, 2, 3, 2, 1};
        REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 5, wd));
        CHECK_CONVX_FAILS(s.fwd(), MM, "w_desc has 5 dims");
    }
    SECTION("filter larger than the padded input") {
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 10, 2));
        CHECK_CONVX_FAILS(s.fwd(), MM, "w_desc filter extent 10");
        CHECK_CONVX_FAILS(s.bwdData(), MM, "exceeds the dx_desc input");
        int d[4];
        CHECK_CONVX_FAILS(convxGetConvolutionNdForwardOutputDim(s.conv, s.x, s.w, 4, d), MM, "w_desc filter extent");
        // dilation can make it too large as well (extent (2-1)*6+1 = 7 > 6)
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(s.conv, 1, 0, 2, 1, 1, 6, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        CHECK_CONVX_FAILS(s.fwd(), MM, "spatial dim 1");
    }
    SECTION("output dims query with the wrong nb_dims") {
        int d[5];
        CHECK_CONVX_FAILS(convxGetConvolutionNdForwardOutputDim(s.conv, s.x, s.w, 5, d), MM, "nb_dims = 5");
        CHECK_CONVX_FAILS(convxGetConvolutionNdForwardOutputDim(s.conv, s.x, s.w, 3, d), MM, "nb_dims = 3");
    }
    SECTION("overlapping strides") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptorEx(s.x, CONVX_DATA_FLOAT, 2, 4, 7, 6, 1, 1, 1, 1));
        CHECK_CONVX_FAILS(s.fwd(), CONVX_STATUS_BAD_PARAM, "overlap");
        CHECK_CONVX_FAILS(s.bwdData(), CONVX_STATUS_BAD_PARAM, "overlap");
    }
    SECTION("getters of the wrong rank") {
        const int d5[5] = {1, 2, 3, 4, 5};
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(s.x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 5, d5));
        int n;
        CHECK_CONVX_FAILS(convxGetTensor4dDescriptor(s.x, nullptr, &n, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), MM,
                          "desc has 5 dims");
        REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 5, d5));
        CHECK_CONVX_FAILS(convxGetFilter4dDescriptor(s.w, nullptr, nullptr, &n, nullptr, nullptr, nullptr), MM, "desc has 5 dims");
        const int z[3] = {0, 0, 0}, o[3] = {1, 1, 1};
        REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(s.conv, 3, z, o, o, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        CHECK_CONVX_FAILS(convxGetConvolution2dDescriptor(s.conv, &n, &n, &n, &n, &n, &n, nullptr, nullptr), MM, "desc has 3 spatial dims");
    }
    SECTION("ranks outside 3..5 and 1..3") {
        const int d6[6] = {1, 1, 1, 1, 1, 1};
        const auto NS = CONVX_STATUS_NOT_SUPPORTED_SHAPE;
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(s.x, CONVX_DATA_FLOAT, 6, d6, d6), NS, "nb_dims = 6");
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(s.x, CONVX_DATA_FLOAT, 2, d6, d6), NS, "nb_dims = 2");
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(s.x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 0, d6), NS, "nb_dims = 0");
        CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, -1, d6), NS, "nb_dims = -1");
        CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(s.conv, 0, d6, d6, d6, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), NS,
                          "array_length = 0");
        CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(s.conv, 4, d6, d6, d6, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT), NS,
                          "array_length = 4");
        int n;
        CHECK_CONVX_FAILS(convxGetTensorNdDescriptor(s.x, -1, nullptr, &n, nullptr, nullptr), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND,
                          "nb_dims_requested");
        CHECK_CONVX_FAILS(convxGetFilterNdDescriptor(s.w, -1, nullptr, nullptr, &n, nullptr), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND,
                          "nb_dims_requested");
        CHECK_CONVX_FAILS(convxGetConvolutionNdDescriptor(s.conv, -1, &n, nullptr, nullptr, nullptr, nullptr, nullptr),
                          CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "array_length_requested");
    }
    // after all this, the original setup still works
    Setup fresh;
    REQUIRE_CONVX_OK(fresh.fwd());
}

// ---------------------------------------------------------------- workspace

TEST_CASE("bad input: workspace_bytes 0 and a NULL workspace suit the reference", "[bad-input]") {
    Setup s;
    // The reference needs none: NULL with 0 bytes works, so does an unneeded workspace.
    std::vector<uint64_t> spare(8);
    for (convxConvAlgo_t a : {CONVX_ALGO_AUTO, CONVX_ALGO_REFERENCE}) {
        size_t need = 1;
        REQUIRE_CONVX_OK(convxGetConvolutionForwardWorkspaceSize(s.h, s.x, s.w, s.conv, s.y, a, &need));
        CHECK(need == 0);
        REQUIRE_CONVX_OK(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, a, nullptr, 0, &s.beta, s.y, s.Y()));
        REQUIRE_CONVX_OK(convxConvolutionBackwardData(s.h, &s.alpha, s.w, s.W(), s.y, s.Y(), s.conv, a, nullptr, 0, &s.beta, s.x, s.X()));
        REQUIRE_CONVX_OK(convxConvolutionBackwardFilter(s.h, &s.alpha, s.x, s.X(), s.y, s.Y(), s.conv, a, nullptr, 0, &s.beta, s.w, s.W()));
        REQUIRE_CONVX_OK(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, a, spare.data(), 64, &s.beta, s.y, s.Y()));
        // a NULL workspace with a non-zero size is harmless when nothing is needed
        REQUIRE_CONVX_OK(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, a, nullptr, 64, &s.beta, s.y, s.Y()));
    }
}

TEST_CASE("bad input: insufficient workspace", "[bad-input]") {
    Handle h;
    // INSUFFICIENT_WORKSPACE needs an algorithm that asks for a workspace. Look for one among the
    // registered CPU algorithms: first on a weight gradient with a long reduction (which a split
    // reduction keeps partial sums of), then on random problems.
    std::vector<harness::Spec> specs;
    {
        harness::Spec s;
        s.dir = harness::Dir::BwdFilter;
        s.N = 8, s.C = 4, s.K = 4;
        s.in[0] = s.in[1] = 16, s.ker[0] = s.ker[1] = 3, s.pad[0] = s.pad[1] = 1;
        specs.push_back(s);
    }
    std::mt19937_64 rng(424242);
    for (int i = 0; i < 60; ++i) specs.push_back(harness::randomSpec(rng, static_cast<harness::Dir>(i % 3), CONVX_DATA_FLOAT));
    for (const harness::Spec& spec : specs) {
        const harness::Dir d = spec.dir;
        harness::Case c(spec);
        const convx::Problem p =
            convx::problemOf(static_cast<convx::Direction>(d), {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir)) {
            if (!a->check(p).ok) continue;
            const size_t need = a->workspaceSize(p);
            if (need == 0) continue;
            c.fill();
            INFO(a->name() << " needs " << need << " bytes for " << p.str());
            std::vector<uint64_t> ws(need / 8 + 1);
            CHECK_CONVX_FAILS(c.run(h, a->id(), ws.data(), need - 1), CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes");
            CHECK_CONVX_FAILS(c.run(h, a->id(), nullptr, need), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "workspace is NULL");
            REQUIRE_CONVX_OK(c.run(h, a->id(), ws.data(), need));
            // Find reports it, without running it, when the workspace is too small
            std::vector<convxAlgoPerf_t> r(CONVX_ALGO_COUNT);
            int n = 0;
            convxStatus_t st = CONVX_STATUS_INTERNAL_ERROR;
            if (d == harness::Dir::Fwd)
                st = convxFindConvolutionForwardAlgorithm(h, c.xDesc(), c.x.data(), c.wDesc(), c.w.data(), c.convDesc(), c.yDesc(), c.y.data(),
                                                          CONVX_ALGO_COUNT, &n, r.data(), nullptr, 0);
            else if (d == harness::Dir::BwdData)
                st = convxFindConvolutionBackwardDataAlgorithm(h, c.wDesc(), c.w.data(), c.yDesc(), c.y.data(), c.convDesc(), c.xDesc(),
                                                               c.x.data(), CONVX_ALGO_COUNT, &n, r.data(), nullptr, 0);
            else
                st = convxFindConvolutionBackwardFilterAlgorithm(h, c.xDesc(), c.x.data(), c.yDesc(), c.y.data(), c.convDesc(), c.wDesc(),
                                                                 c.w.data(), CONVX_ALGO_COUNT, &n, r.data(), nullptr, 0);
            REQUIRE(st == CONVX_STATUS_SUCCESS);
            bool reported = false;
            for (int k = 0; k < n; ++k)
                if (r[static_cast<size_t>(k)].algo == a->id()) {
                    reported = true;
                    CHECK(r[static_cast<size_t>(k)].status == CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE);
                    CHECK(r[static_cast<size_t>(k)].memory == need);
                }
            CHECK(reported);
            return;
        }
    }
    CONVX_SKIP("no registered CPU algorithm needs a workspace, so INSUFFICIENT_WORKSPACE cannot be provoked "
               "(workspace_bytes = 0 with the reference is checked above)");
}

// ---------------------------------------------------------------- dead and unset objects

TEST_CASE("bad input: destroyed, foreign and never-set objects", "[bad-input]") {
    const auto INV = CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR;
    SECTION("destroyed tensor descriptor used in a setter, a getter and an execute call") {
        Setup s;
        convxTensorDescriptor_t dead = nullptr;
        REQUIRE_CONVX_OK(convxCreateTensorDescriptor(&dead));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(dead, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 7, 6));
        REQUIRE_CONVX_OK(convxDestroyTensorDescriptor(dead));
        CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(dead, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 1, 1, 1), INV, "desc is not a live tensor descriptor");
        size_t sz;
        CHECK_CONVX_FAILS(convxGetTensorSizeInBytes(dead, &sz), INV, "desc");
        CHECK_CONVX_FAILS(convxDestroyTensorDescriptor(dead), INV, "desc");  // double destroy
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, dead, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "x_desc is not a live tensor descriptor");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, &s.alpha, s.w, s.W(), dead, s.Y(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.x, s.X()),
                          INV, "dy_desc");
    }
    SECTION("destroyed filter and convolution descriptors") {
        Setup s;
        convxFilterDescriptor_t deadF = nullptr;
        convxConvolutionDescriptor_t deadC = nullptr;
        REQUIRE_CONVX_OK(convxCreateFilterDescriptor(&deadF));
        REQUIRE_CONVX_OK(convxCreateConvolutionDescriptor(&deadC));
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(deadF, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(deadC, 1, 0, 2, 1, 1, 2, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(convxDestroyFilterDescriptor(deadF));
        REQUIRE_CONVX_OK(convxDestroyConvolutionDescriptor(deadC));
        CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(deadF, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 1, 1, 1, 1), INV, "not a live filter descriptor");
        CHECK_CONVX_FAILS(convxDestroyFilterDescriptor(deadF), INV, "desc");
        CHECK_CONVX_FAILS(convxSetConvolutionGroupCount(deadC, 2), INV, "not a live convolution descriptor");
        CHECK_CONVX_FAILS(convxDestroyConvolutionDescriptor(deadC), INV, "desc");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), deadF, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "w_desc is not a live filter descriptor");
        CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(s.h, &s.alpha, s.x, s.X(), s.y, s.Y(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, deadF, s.W()),
                          INV, "dw_desc");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), deadC, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "conv_desc is not a live convolution descriptor");
    }
    SECTION("destroyed handle") {
        Setup s;
        convxHandle_t dead = nullptr;
        REQUIRE_CONVX_OK(convxCreateWithBackend(&dead, CONVX_BACKEND_CPU));
        REQUIRE_CONVX_OK(convxDestroy(dead));
        CHECK_CONVX_FAILS(convxDestroy(dead), INV, "handle");
        CHECK_CONVX_FAILS(convxSetNumThreads(dead, 1), INV, "handle is not a live convx handle");
        int n;
        CHECK_CONVX_FAILS(convxGetConvolutionForwardAlgorithmMaxCount(dead, &n), INV, "handle");
        CHECK_CONVX_FAILS(convxConvolutionForward(dead, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "handle is not a live convx handle");
    }
    SECTION("foreign pointers (never created)") {
        Setup s;
        int junk[64] = {};
        auto t = bogus<convxTensorDescriptor_t>(reinterpret_cast<uintptr_t>(&junk[0]));
        auto f = bogus<convxFilterDescriptor_t>(reinterpret_cast<uintptr_t>(&junk[16]));
        auto c = bogus<convxConvolutionDescriptor_t>(reinterpret_cast<uintptr_t>(&junk[32]));
        auto h = bogus<convxHandle_t>(reinterpret_cast<uintptr_t>(&junk[48]));
        CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 1, 1, 1), INV, "desc");
        CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 1, 1, 1, 1), INV, "desc");
        CHECK_CONVX_FAILS(convxSetConvolutionGroupCount(c, 1), INV, "desc");
        CHECK_CONVX_FAILS(convxSetNumThreads(h, 1), INV, "handle");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, t, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "x_desc");
        // a descriptor of one kind passed as another is not live either
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta,
                                                  reinterpret_cast<convxTensorDescriptor_t>(static_cast<convxHandle_t>(s.h)), s.Y()),
                          INV, "y_desc");
        for (int v : junk) CHECK(v == 0);  // nothing was written through them
    }
    SECTION("created but never set") {
        Setup s;
        TensorDesc t;
        FilterDesc f;
        ConvDesc c;
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, t, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "x_desc was created but never set");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), f, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "w_desc was created but never set");
        CHECK_CONVX_FAILS(convxConvolutionForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), c, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                          INV, "conv_desc was created but never set");
        CHECK_CONVX_FAILS(convxConvolutionBackwardData(s.h, &s.alpha, s.w, s.W(), t, s.Y(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.x, s.X()),
                          INV, "dy_desc was created but never set");
        int n;
        size_t sz;
        CHECK_CONVX_FAILS(convxGetTensor4dDescriptor(t, nullptr, &n, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr), INV, "never set");
        CHECK_CONVX_FAILS(convxGetTensorSizeInBytes(t, &sz), INV, "never set");
        CHECK_CONVX_FAILS(convxGetFilterSizeInBytes(f, &sz), INV, "never set");
        CHECK_CONVX_FAILS(convxGetConvolutionNdDescriptor(c, 0, &n, nullptr, nullptr, nullptr, nullptr, nullptr), INV, "never set");
        CHECK_CONVX_FAILS(convxGetConvolution2dForwardOutputDim(c, s.x, s.w, &n, &n, &n, &n), INV, "conv was created but never set");
        // the group count and math type of an unset convolution descriptor are still readable (defaults)
        int g = 0;
        REQUIRE_CONVX_OK(convxGetConvolutionGroupCount(c, &g));
        CHECK(g == 1);
    }
}

// ---------------------------------------------------------------- enum values

TEST_CASE("bad input: unsupported data type enum values", "[bad-input]") {
    TensorDesc t;
    FilterDesc f;
    ConvDesc c;
    const auto DT = CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE;
    const int d4[4] = {1, 2, 3, 4}, s4[4] = {24, 12, 4, 1};
    const int z[2] = {0, 0}, o[2] = {1, 1};
    for (int v : {3 /* INT8 in cuDNN */, 4, 8, -1, 10, 100}) {
        INFO("data type " << v);
        const auto bad = static_cast<convxDataType_t>(v);
        const std::string needle = "data type " + std::to_string(v);
        CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, bad, 1, 2, 3, 4), DT, needle);
        CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, bad, 1, 2, 3, 4), DT, "dtype");
        CHECK_CONVX_FAILS(convxSetTensor4dDescriptorEx(t, bad, 1, 2, 3, 4, 24, 12, 4, 1), DT, "dtype");
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptor(t, bad, 4, d4, s4), DT, "dtype");
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NHWC, bad, 4, d4), DT, "dtype");
        CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(f, bad, CONVX_TENSOR_NCHW, 1, 2, 3, 4), DT, "dtype");
        CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(f, bad, CONVX_TENSOR_NCHW, 4, d4), DT, "dtype");
        CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, bad), DT, "compute_type");
        CHECK_CONVX_FAILS(convxSetConvolutionNdDescriptor(c, 2, z, o, o, CONVX_CROSS_CORRELATION, bad), DT, "compute_type");
    }
}

TEST_CASE("bad input: bad format, mode, math type and backend enum values", "[bad-input]") {
    TensorDesc t;
    FilterDesc f;
    ConvDesc c;
    const int d4[4] = {1, 2, 3, 4};
    for (int v : {2, -1, 7}) {
        INFO("format " << v);
        const auto bad = static_cast<convxTensorFormat_t>(v);
        CHECK_CONVX_FAILS(convxSetTensor4dDescriptor(t, bad, CONVX_DATA_FLOAT, 1, 2, 3, 4), CONVX_STATUS_NOT_SUPPORTED_LAYOUT, "format");
        CHECK_CONVX_FAILS(convxSetTensorNdDescriptorEx(t, bad, CONVX_DATA_FLOAT, 4, d4), CONVX_STATUS_NOT_SUPPORTED_LAYOUT, "format");
        CHECK_CONVX_FAILS(convxSetFilter4dDescriptor(f, CONVX_DATA_FLOAT, bad, 1, 2, 3, 4), CONVX_STATUS_NOT_SUPPORTED_LAYOUT, "format");
        CHECK_CONVX_FAILS(convxSetFilterNdDescriptor(f, CONVX_DATA_FLOAT, bad, 4, d4), CONVX_STATUS_NOT_SUPPORTED_LAYOUT, "format");
        CHECK_CONVX_FAILS(convxSetConvolution2dDescriptor(c, 0, 0, 1, 1, 1, 1, static_cast<convxConvolutionMode_t>(v), CONVX_DATA_FLOAT),
                          CONVX_STATUS_BAD_PARAM, "mode");
    }
    for (int v : {4, -1, 99}) {
        INFO("math type " << v);
        CHECK_CONVX_FAILS(convxSetConvolutionMathType(c, static_cast<convxMathType_t>(v)), CONVX_STATUS_BAD_PARAM, "math_type");
    }
    for (int v : {2, -1, 42}) {
        INFO("backend " << v);
        convxHandle_t h = nullptr;
        CHECK_CONVX_FAILS(convxCreateWithBackend(&h, static_cast<convxBackend_t>(v)), CONVX_STATUS_BAD_PARAM, "backend");
        CHECK(h == nullptr);
    }
}

// ---------------------------------------------------------------- pointers

TEST_CASE("bad input: misaligned data pointers", "[bad-input]") {
    struct T {
        convxDataType_t dt;
        size_t offset;  // bytes added to an aligned pointer
    };
    const T types[] = {{CONVX_DATA_FLOAT, 1}, {CONVX_DATA_FLOAT, 2}, {CONVX_DATA_DOUBLE, 4}, {CONVX_DATA_HALF, 1}, {CONVX_DATA_BFLOAT16, 1}};
    const auto MA = CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER;
    for (const T& t : types) {
        INFO(harness::dtName(t.dt) << " + " << t.offset << " bytes");
        harness::Spec sp;
        sp.dt = t.dt;
        sp.compute = t.dt == CONVX_DATA_DOUBLE ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        sp.in[0] = sp.in[1] = 4;
        sp.ker[0] = sp.ker[1] = 3;
        Handle h;
        for (harness::Dir d : {harness::Dir::Fwd, harness::Dir::BwdData, harness::Dir::BwdFilter}) {
            sp.dir = d;
            harness::Case c(sp);
            c.fill();
            // spare room so that the shifted pointer stays inside the allocation
            for (harness::Buffer* b : {&c.x, &c.w, &c.y}) b->store.resize(b->store.size() + 2);
            const float af = 1, bf = 0;
            const double ad = 1, bd = 0;
            const void* a = t.dt == CONVX_DATA_DOUBLE ? static_cast<const void*>(&ad) : &af;
            const void* b = t.dt == CONVX_DATA_DOUBLE ? static_cast<const void*>(&bd) : &bf;
            auto shift = [&](harness::Buffer& buf) { return static_cast<void*>(static_cast<char*>(buf.data()) + t.offset); };
            if (d == harness::Dir::Fwd) {
                CHECK_CONVX_FAILS(convxConvolutionForward(h, a, c.xDesc(), shift(c.x), c.wDesc(), c.w.data(), c.convDesc(), CONVX_ALGO_AUTO, nullptr, 0, b, c.yDesc(), c.y.data()), MA, "x = ");
                CHECK_CONVX_FAILS(convxConvolutionForward(h, a, c.xDesc(), c.x.data(), c.wDesc(), shift(c.w), c.convDesc(), CONVX_ALGO_AUTO, nullptr, 0, b, c.yDesc(), c.y.data()), MA, "w = ");
                CHECK_CONVX_FAILS(convxConvolutionForward(h, a, c.xDesc(), c.x.data(), c.wDesc(), c.w.data(), c.convDesc(), CONVX_ALGO_AUTO, nullptr, 0, b, c.yDesc(), shift(c.y)), MA, "y = ");
            } else if (d == harness::Dir::BwdData) {
                CHECK_CONVX_FAILS(convxConvolutionBackwardData(h, a, c.wDesc(), c.w.data(), c.yDesc(), shift(c.y), c.convDesc(), CONVX_ALGO_AUTO, nullptr, 0, b, c.xDesc(), c.x.data()), MA, "dy = ");
                CHECK_CONVX_FAILS(convxConvolutionBackwardData(h, a, c.wDesc(), c.w.data(), c.yDesc(), c.y.data(), c.convDesc(), CONVX_ALGO_AUTO, nullptr, 0, b, c.xDesc(), shift(c.x)), MA, "dx = ");
            } else {
                CHECK_CONVX_FAILS(convxConvolutionBackwardFilter(h, a, c.xDesc(), c.x.data(), c.yDesc(), c.y.data(), c.convDesc(), CONVX_ALGO_AUTO, nullptr, 0, b, c.wDesc(), shift(c.w)), MA, "dw = ");
            }
            // the aligned call works
            REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
        }
    }
}

// ---------------------------------------------------------------- backends and streams

TEST_CASE("bad input: convxCreate without a usable CUDA backend", "[bad-input]") {
    convxHandle_t h = nullptr;
    testutil::EnvGuard quiet("CONVX_LOG", nullptr);
    ::convx::setLastError("<no message was set>");
    const convxStatus_t st = convxCreate(&h);
    if (st == CONVX_STATUS_SUCCESS) {
        convxBackend_t b;
        CHECK(convxGetBackend(h, &b) == CONVX_STATUS_SUCCESS);
        CHECK(b == CONVX_BACKEND_CUDA);
        CHECK(convxDestroy(h) == CONVX_STATUS_SUCCESS);
        CONVX_SKIP("a CUDA device is usable here: convxCreate succeeded");
    }
    const std::string msg = testutil::lastError();
    INFO(convxGetErrorString(st) << ": " << msg);
    CHECK(st == CONVX_STATUS_NOT_SUPPORTED_BACKEND);
    CHECK(msg != "<no message was set>");
    CHECK_THAT(msg, Catch::StartsWith("convxCreate"));
    CHECK(msg.size() > std::string("convxCreateWithBackend: ").size() + 10);
    CHECK(h == nullptr);
    CHECK_CONVX_FAILS(convxCreateWithBackend(&h, CONVX_BACKEND_CUDA), CONVX_STATUS_NOT_SUPPORTED_BACKEND, "CUDA");
}

TEST_CASE("bad input: streams on a CPU handle", "[bad-input]") {
    Handle h;
    int dummy = 0;
    CHECK_CONVX_FAILS(convxSetStream(h, &dummy), CONVX_STATUS_BAD_PARAM, "stream");
    REQUIRE_CONVX_OK(convxSetStream(h, nullptr));
    void* st = &dummy;
    REQUIRE_CONVX_OK(convxGetStream(h, &st));
    CHECK(st == nullptr);
    convxBackend_t b;
    REQUIRE_CONVX_OK(convxGetBackend(h, &b));
    CHECK(b == CONVX_BACKEND_CPU);
}

// ---------------------------------------------------------------- messages

TEST_CASE("bad input: convxGetErrorString covers every status, distinct and non-null", "[bad-input]") {
    const convxStatus_t all[] = {CONVX_STATUS_SUCCESS,
                                 CONVX_STATUS_NOT_INITIALIZED,
                                 CONVX_STATUS_BAD_PARAM,
                                 CONVX_STATUS_BAD_PARAM_NULL_POINTER,
                                 CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER,
                                 CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND,
                                 CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE,
                                 CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
                                 CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR,
                                 CONVX_STATUS_NOT_SUPPORTED,
                                 CONVX_STATUS_NOT_SUPPORTED_ALGORITHM,
                                 CONVX_STATUS_NOT_SUPPORTED_SHAPE,
                                 CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE,
                                 CONVX_STATUS_NOT_SUPPORTED_LAYOUT,
                                 CONVX_STATUS_NOT_SUPPORTED_BACKEND,
                                 CONVX_STATUS_INTERNAL_ERROR,
                                 CONVX_STATUS_ALLOC_FAILED,
                                 CONVX_STATUS_DEVICE_ALLOC_FAILED,
                                 CONVX_STATUS_EXECUTION_FAILED,
                                 CONVX_STATUS_EXECUTION_FAILED_CUDART};
    std::set<std::string> seen;
    for (convxStatus_t s : all) {
        const char* text = convxGetErrorString(s);
        INFO(static_cast<int>(s));
        REQUIRE(text != nullptr);
        CHECK(std::string(text).size() > 0);
        CHECK(seen.insert(text).second);
        CHECK_THAT(std::string(text), Catch::StartsWith("CONVX_STATUS_"));
        CHECK_THAT(std::string(text), !Catch::Contains("UNKNOWN"));
        CHECK(CONVX_STATUS_CATEGORY(s) == (static_cast<int>(s) / 1000) * 1000);
    }
    for (int v : {-1, 1, 999, 2001, 12345}) {
        const char* text = convxGetErrorString(static_cast<convxStatus_t>(v));
        REQUIRE(text != nullptr);
        CHECK(seen.count(text) == 0);
    }
    CHECK(CONVX_STATUS_CATEGORY(CONVX_STATUS_BAD_PARAM_NULL_POINTER) == CONVX_STATUS_BAD_PARAM);
    CHECK(CONVX_STATUS_CATEGORY(CONVX_STATUS_NOT_SUPPORTED_BACKEND) == CONVX_STATUS_NOT_SUPPORTED);
}

TEST_CASE("bad input: convxGetLastErrorString truncates and keeps the last failure", "[bad-input]") {
    TensorDesc t;
    REQUIRE(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 0, 1, 1, 1) == CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND);
    const std::string full = testutil::lastError();
    REQUIRE(full.size() > 10);
    CHECK_THAT(full, Catch::StartsWith("convxSetTensor4dDescriptor: "));
    char buf[64];
    std::memset(buf, '#', sizeof buf);
    convxGetLastErrorString(buf, 1);
    CHECK(buf[0] == '\0');
    CHECK(buf[1] == '#');
    std::memset(buf, '#', sizeof buf);
    convxGetLastErrorString(buf, 5);
    CHECK(std::string(buf) == full.substr(0, 4));
    CHECK(buf[5] == '#');
    std::memset(buf, '#', sizeof buf);
    convxGetLastErrorString(buf, 0);  // writes nothing
    CHECK(buf[0] == '#');
    convxGetLastErrorString(nullptr, 100);  // no crash
    std::vector<char> exact(full.size() + 1, '#');
    convxGetLastErrorString(exact.data(), exact.size());
    CHECK(std::string(exact.data()) == full);
    std::vector<char> shortByOne(full.size(), '#');
    convxGetLastErrorString(shortByOne.data(), shortByOne.size());
    CHECK(std::string(shortByOne.data()) == full.substr(0, full.size() - 1));
    // a successful call leaves the message
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 1, 1, 1));
    CHECK(testutil::lastError() == full);
    // another failure replaces it
    REQUIRE(convxSetConvolutionGroupCount(nullptr, 1) == CONVX_STATUS_BAD_PARAM_NULL_POINTER);
    CHECK(testutil::lastError() != full);
    CHECK_THAT(testutil::lastError(), Catch::StartsWith("convxSetConvolutionGroupCount: "));
}

TEST_CASE("bad input: the last error is per thread", "[bad-input][host-threads]") {
    TensorDesc t;
    REQUIRE(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, -5, 1, 1, 1) == CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND);
    const std::string mine = testutil::lastError();
    std::string theirsBefore, theirsAfter;
    std::thread other([&] {
        theirsBefore = testutil::lastError();
        convxCreateTensorDescriptor(nullptr);
        theirsAfter = testutil::lastError();
    });
    other.join();
    CHECK(theirsBefore.empty());
    CHECK_THAT(theirsAfter, Catch::Contains("desc is NULL"));
    CHECK(testutil::lastError() == mine);
}
