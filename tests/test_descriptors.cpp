// C API round trips: what a setter stores, the getters read back; handles; sizes; output dims;
// the Problem built from descriptors.
#include "conv_harness.h"
#include "execute.h"

using testutil::ConvDesc;
using testutil::FilterDesc;
using testutil::Handle;
using testutil::TensorDesc;

TEST_CASE("api: version", "[c-api]") {
    CHECK(convxGetVersion() == CONVX_VERSION);
    CHECK(CONVX_VERSION == CONVX_VERSION_MAJOR * 10000 + CONVX_VERSION_MINOR * 100 + CONVX_VERSION_PATCH);
}

TEST_CASE("api: CPU handle state", "[c-api]") {
    Handle h;
    convxBackend_t b = CONVX_BACKEND_CUDA;
    REQUIRE_CONVX_OK(convxGetBackend(h, &b));
    CHECK(b == CONVX_BACKEND_CPU);
    int n = -1;
    REQUIRE_CONVX_OK(convxGetNumThreads(h, &n));
    CHECK(n == 0);
    REQUIRE_CONVX_OK(convxSetNumThreads(h, 3));
    REQUIRE_CONVX_OK(convxGetNumThreads(h, &n));
    CHECK(n == 3);
    void* s = &n;
    REQUIRE_CONVX_OK(convxGetStream(h, &s));
    CHECK(s == nullptr);
    // several handles coexist
    Handle h2(1), h3(2);
    REQUIRE_CONVX_OK(convxGetNumThreads(h2, &n));
    CHECK(n == 1);
}

TEST_CASE("api: tensor descriptor round trips", "[c-api]") {
    TensorDesc t;
    convxDataType_t dt;
    int n, c, h, w, ns, cs, hs, ws;
    SECTION("4-D NCHW and NHWC") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NCHW, CONVX_DATA_DOUBLE, 2, 3, 4, 5));
        REQUIRE_CONVX_OK(convxGetTensor4dDescriptor(t, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws));
        CHECK(dt == CONVX_DATA_DOUBLE);
        CHECK((n == 2 && c == 3 && h == 4 && w == 5));
        CHECK((ns == 60 && cs == 20 && hs == 5 && ws == 1));
        size_t bytes = 0;
        REQUIRE_CONVX_OK(convxGetTensorSizeInBytes(t, &bytes));
        CHECK(bytes == 120 * 8);
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(t, CONVX_TENSOR_NHWC, CONVX_DATA_HALF, 2, 3, 4, 5));
        REQUIRE_CONVX_OK(convxGetTensor4dDescriptor(t, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws));
        CHECK(dt == CONVX_DATA_HALF);
        CHECK((ns == 60 && cs == 1 && hs == 15 && ws == 3));
        REQUIRE_CONVX_OK(convxGetTensorSizeInBytes(t, &bytes));
        CHECK(bytes == 120 * 2);
        // NULL out-pointers are allowed for the fields a caller does not want
        REQUIRE_CONVX_OK(convxGetTensor4dDescriptor(t, nullptr, &n, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr));
    }
    SECTION("4-D with explicit strides: the byte size is the span") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptorEx(t, CONVX_DATA_FLOAT, 2, 3, 4, 5, 100, 30, 7, 1));
        REQUIRE_CONVX_OK(convxGetTensor4dDescriptor(t, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws));
        CHECK((ns == 100 && cs == 30 && hs == 7 && ws == 1));
        size_t bytes = 0;
        REQUIRE_CONVX_OK(convxGetTensorSizeInBytes(t, &bytes));
        CHECK(bytes == (1 + 100 + 2 * 30 + 3 * 7 + 4) * 4u);
    }
    SECTION("N-D") {
        const int dims[5] = {2, 3, 4, 5, 6};
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(t, CONVX_TENSOR_NHWC, CONVX_DATA_BFLOAT16, 5, dims));
        int nb = 0, d[5] = {}, s[5] = {};
        REQUIRE_CONVX_OK(convxGetTensorNdDescriptor(t, 5, &dt, &nb, d, s));
        CHECK(nb == 5);
        CHECK(dt == CONVX_DATA_BFLOAT16);
        for (int i = 0; i < 5; ++i) CHECK(d[i] == dims[i]);
        CHECK((s[1] == 1 && s[4] == 3 && s[3] == 18 && s[2] == 90 && s[0] == 360));
        // asking for fewer dims fills only those; nb_dims still tells the rank
        int d2[2] = {-1, -1}, s2[2] = {-1, -1};
        REQUIRE_CONVX_OK(convxGetTensorNdDescriptor(t, 2, nullptr, &nb, d2, s2));
        CHECK((nb == 5 && d2[0] == 2 && d2[1] == 3));
        REQUIRE_CONVX_OK(convxGetTensorNdDescriptor(t, 0, nullptr, &nb, nullptr, nullptr));
        CHECK(nb == 5);
        const int d3[3] = {1, 7, 9}, s3[3] = {200, 1, 7};  // NWC-like, strided
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptor(t, CONVX_DATA_FLOAT, 3, d3, s3));
        REQUIRE_CONVX_OK(convxGetTensorNdDescriptor(t, 5, &dt, &nb, d, s));
        CHECK(nb == 3);
        CHECK((d[0] == 1 && d[1] == 7 && d[2] == 9 && s[0] == 200 && s[1] == 1 && s[2] == 7));
    }
}

TEST_CASE("api: filter descriptor round trips", "[c-api]") {
    FilterDesc f;
    convxDataType_t dt;
    convxTensorFormat_t fmt;
    int k, c, r, s;
    REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(f, CONVX_DATA_FLOAT, CONVX_TENSOR_NHWC, 8, 3, 5, 7));
    REQUIRE_CONVX_OK(convxGetFilter4dDescriptor(f, &dt, &fmt, &k, &c, &r, &s));
    CHECK(dt == CONVX_DATA_FLOAT);
    CHECK(fmt == CONVX_TENSOR_NHWC);
    CHECK((k == 8 && c == 3 && r == 5 && s == 7));
    size_t bytes = 0;
    REQUIRE_CONVX_OK(convxGetFilterSizeInBytes(f, &bytes));
    CHECK(bytes == 8 * 3 * 5 * 7 * 4u);
    const int dims[5] = {4, 2, 3, 3, 3};
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(f, CONVX_DATA_DOUBLE, CONVX_TENSOR_NCHW, 5, dims));
    int nb = 0, d[5] = {};
    REQUIRE_CONVX_OK(convxGetFilterNdDescriptor(f, 5, &dt, &fmt, &nb, d));
    CHECK(nb == 5);
    CHECK(dt == CONVX_DATA_DOUBLE);
    CHECK(fmt == CONVX_TENSOR_NCHW);
    for (int i = 0; i < 5; ++i) CHECK(d[i] == dims[i]);
    REQUIRE_CONVX_OK(convxGetFilterSizeInBytes(f, &bytes));
    CHECK(bytes == 4 * 2 * 27 * 8u);
}

TEST_CASE("api: convolution descriptor round trips", "[c-api]") {
    ConvDesc c;
    int g = 0;
    convxMathType_t m = CONVX_FMA_MATH;
    REQUIRE_CONVX_OK(convxGetConvolutionGroupCount(c, &g));
    CHECK(g == 1);
    REQUIRE_CONVX_OK(convxGetConvolutionMathType(c, &m));
    CHECK(m == CONVX_DEFAULT_MATH);
    REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(c, 1, 2, 3, 4, 5, 6, CONVX_CONVOLUTION, CONVX_DATA_FLOAT));
    int ph, pw, u, v, dh, dw;
    convxConvolutionMode_t mode;
    convxDataType_t ct;
    REQUIRE_CONVX_OK(convxGetConvolution2dDescriptor(c, &ph, &pw, &u, &v, &dh, &dw, &mode, &ct));
    CHECK((ph == 1 && pw == 2 && u == 3 && v == 4 && dh == 5 && dw == 6));
    CHECK(mode == CONVX_CONVOLUTION);
    CHECK(ct == CONVX_DATA_FLOAT);
    const int pads[3] = {0, 1, 2}, strides[3] = {1, 2, 3}, dils[3] = {3, 2, 1};
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(c, 3, pads, strides, dils, CONVX_CROSS_CORRELATION, CONVX_DATA_DOUBLE));
    int n = 0, p[3], s[3], d[3];
    REQUIRE_CONVX_OK(convxGetConvolutionNdDescriptor(c, 3, &n, p, s, d, &mode, &ct));
    CHECK(n == 3);
    for (int i = 0; i < 3; ++i) CHECK((p[i] == pads[i] && s[i] == strides[i] && d[i] == dils[i]));
    CHECK(mode == CONVX_CROSS_CORRELATION);
    CHECK(ct == CONVX_DATA_DOUBLE);
    REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(c, 32));
    REQUIRE_CONVX_OK(convxGetConvolutionGroupCount(c, &g));
    CHECK(g == 32);
    for (int mt = CONVX_DEFAULT_MATH; mt <= CONVX_FMA_MATH; ++mt) {
        REQUIRE_CONVX_OK(convxSetConvolutionMathType(c, static_cast<convxMathType_t>(mt)));
        REQUIRE_CONVX_OK(convxGetConvolutionMathType(c, &m));
        CHECK(m == mt);
    }
}

TEST_CASE("api: forward output dims", "[c-api]") {
    TensorDesc x;
    FilterDesc w;
    ConvDesc c;
    // ResNet-50 stem: 3->64 7x7 s2 p3 at 224 -> 112
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(x, CONVX_TENSOR_NHWC, CONVX_DATA_FLOAT, 8, 3, 224, 224));
    REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NHWC, 64, 3, 7, 7));
    REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(c, 3, 3, 2, 2, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    int n, k, h, wd;
    REQUIRE_CONVX_OK(convxGetConvolution2dForwardOutputDim(c, x, w, &n, &k, &h, &wd));
    CHECK((n == 8 && k == 64 && h == 112 && wd == 112));
    // DeepLab ASPP: 3x3 dilation 12, pad 12 at 65 -> 65; depthwise groups
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 32, 65, 65));
    REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 64, 1, 3, 3));
    REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(c, 12, 12, 1, 1, 12, 12, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(c, 32));
    REQUIRE_CONVX_OK(convxGetConvolution2dForwardOutputDim(c, x, w, &n, &k, &h, &wd));
    CHECK((n == 1 && k == 64 && h == 65 && wd == 65));
    // 1-D WaveNet-style and 3-D
    const int x1[3] = {2, 32, 16000}, w1[3] = {32, 32, 2}, p1[1] = {0}, s1[1] = {1}, d1[1] = {512};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, x1));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 3, w1));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(c, 1, p1, s1, d1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(c, 1));
    int o3[3];
    REQUIRE_CONVX_OK(convxGetConvolutionNdForwardOutputDim(c, x, w, 3, o3));
    CHECK((o3[0] == 2 && o3[1] == 32 && o3[2] == 16000 - 512));
    const int x5[5] = {1, 4, 9, 10, 11}, w5[5] = {6, 4, 3, 3, 3}, p5[3] = {1, 0, 2}, s5[3] = {2, 1, 3}, d5[3] = {1, 2, 1};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NHWC, CONVX_DATA_FLOAT, 5, x5));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NHWC, 5, w5));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(c, 3, p5, s5, d5, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    int o5[5];
    REQUIRE_CONVX_OK(convxGetConvolutionNdForwardOutputDim(c, x, w, 5, o5));
    CHECK((o5[0] == 1 && o5[1] == 6));
    CHECK(o5[2] == 1 + (9 + 2 - 3) / 2);
    CHECK(o5[3] == 1 + (10 - 5) / 1);
    CHECK(o5[4] == 1 + (11 + 4 - 3) / 3);
}

TEST_CASE("api: the Problem built from descriptors", "[c-api]") {
    // Layouts are read off the strides; the filter format is the descriptor's; strides are kept.
    harness::Spec s;
    s.dir = harness::Dir::BwdData;
    s.dt = CONVX_DATA_HALF;
    s.compute = CONVX_DATA_HALF;
    s.mode = CONVX_CONVOLUTION;
    s.math = CONVX_TENSOR_OP_MATH;
    s.nsp = 3;
    s.N = 2;
    s.C = 6;
    s.K = 9;
    s.G = 3;
    for (int i = 0; i < 3; ++i) {
        s.in[i] = 4 + i;
        s.ker[i] = 2;
        s.stride[i] = 1 + i % 2;
        s.pad[i] = i;
        s.dil[i] = 1 + i;
    }
    s.xFmt = CONVX_TENSOR_NHWC;
    s.yFmt = CONVX_TENSOR_NCHW;
    s.wFmt = CONVX_TENSOR_NHWC;
    harness::Case c(s);
    const convx::Problem p = convx::problemOf(convx::Direction::BackwardData, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
    CHECK(p.dir == convx::Direction::BackwardData);
    CHECK(p.dtype == convx::DType::F16);
    CHECK(p.accType == convx::DType::F16);
    CHECK(p.mode == CONVX_CONVOLUTION);
    CHECK(p.math == CONVX_TENSOR_OP_MATH);
    CHECK((p.nsp == 3 && p.N == 2 && p.C == 6 && p.K == 9 && p.G == 3));
    for (int i = 0; i < 3; ++i) {
        CHECK(p.in[i] == s.in[i]);
        CHECK(p.out[i] == s.out(i));
        CHECK(p.ker[i] == 2);
        CHECK(p.stride[i] == s.stride[i]);
        CHECK(p.pad[i] == s.pad[i]);
        CHECK(p.dil[i] == s.dil[i]);
    }
    CHECK(p.xLayout == convx::Layout::NHWC);
    CHECK(p.yLayout == convx::Layout::NCHW);
    CHECK(p.wLayout == convx::Layout::NHWC);
    CHECK(p.xPacked());
    CHECK(p.yPacked());
    CHECK(convx::parseProblem(p.str()) == p);
    for (int i = 0; i < 5; ++i) {
        CHECK(p.xStrides[i] == c.xg.strides[i]);
        CHECK(p.yStrides[i] == c.yg.strides[i]);
        CHECK(p.wStrides()[i] == c.wg.strides[i]);
    }
}
