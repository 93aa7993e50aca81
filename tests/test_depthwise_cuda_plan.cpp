// CONVX_ALGO_DEPTHWISE on CUDA, checked without a GPU: the index arithmetic of the kernels
// (cuda/depthwise_tile.h: tile origins, staged halo ranges, the de-interleaved shared-memory map,
// stride-phase tap sets, the weight-gradient chunks) driven over random problems and checked
// against the definition, and every kernel emulated block by block, thread by thread on the host
// (the same per-thread steps, in the kernels' order between barriers) against the reference.
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "algo_check.h"
#include "problem.h"

#include "../cuda/depthwise_tile.h"

using harness::Dir;
using harness::Spec;

namespace {

int uni(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// A random depthwise problem: small maps (down to 1x1), windows 1..7, strides 1..3, dilation
// 1..3, padding 0..window, multiplier 1..2, either layout, 1-D or 2-D (3-D when allowed).
Spec randomDw(std::mt19937_64& rng, Dir dir, convxDataType_t dt, bool allow3d = false) {
    for (;;) {
        Spec s;
        s.dir = dir;
        s.dt = dt;
        s.compute = dt == CONVX_DATA_DOUBLE ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        s.nsp = allow3d && uni(rng, 0, 5) == 0 ? 3 : uni(rng, 0, 3) == 0 ? 1 : 2;
        s.N = uni(rng, 1, 2);
        s.C = s.G = uni(rng, 1, 3) == 1 ? uni(rng, 1, 3) : uni(rng, 4, 12);
        s.K = s.C * uni(rng, 1, 2);
        s.mode = uni(rng, 0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
        for (int i = 0; i < s.nsp; ++i) {
            s.ker[i] = uni(rng, 1, 7);
            s.stride[i] = uni(rng, 1, 3);
            s.dil[i] = uni(rng, 0, 3) == 0 ? uni(rng, 2, 3) : 1;
            s.pad[i] = uni(rng, 0, s.ker[i]);
            s.in[i] = uni(rng, 0, 2) == 0 ? uni(rng, 1, 6) : uni(rng, 5, s.nsp == 1 ? 70 : 40);
        }
        const convxTensorFormat_t f = uni(rng, 0, 1) ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.xFmt = s.yFmt = f;
        s.wFmt = uni(rng, 0, 1) ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.xGapped = uni(rng, 0, 7) == 0;
        s.yGapped = uni(rng, 0, 7) == 0;
        switch (uni(rng, 0, 3)) {
            case 0: s.alpha = 1, s.beta = 0; break;
            case 1: s.alpha = 0.5, s.beta = 1; break;
            case 2: s.alpha = -1.5, s.beta = 0.25; break;
            default: s.alpha = 2, s.beta = 0; break;
        }
        s.api = rng();
        s.seed = rng();
        if (s.valid()) return s;
    }
}

// The specialised forward shapes: 3x3 / 5x5 windows at W stride 1 and 2, maps wide enough for
// several thread columns, channels-first.
Spec specialisedDw(std::mt19937_64& rng, Dir dir, convxDataType_t dt) {
    for (;;) {
        Spec s = randomDw(rng, dir, dt);
        s.nsp = 2;
        s.xFmt = s.yFmt = CONVX_TENSOR_NCHW;
        s.ker[0] = uni(rng, 1, 5), s.ker[1] = uni(rng, 0, 1) ? 3 : 5;
        s.stride[1] = uni(rng, 1, 2);
        s.dil[1] = 1;
        s.pad[1] = uni(rng, 0, s.ker[1]);
        s.in[1] = uni(rng, 9, 150);
        s.in[0] = uni(rng, 1, 20);
        if (s.valid()) return s;
    }
}

// Which kernel the executor runs (mirrors cuda/depthwise.cu) or a forced one.
enum class Path { Dispatch, Planes, PlanesGeneric, Channels, ChannelsPixel, ChannelsScalar };

template <class T, class Acc>
void emulate(harness::Case& c, const convx::Problem& p, Path path) {
    using namespace convx::dw;
    const Spec& s = c.spec();
    const Acc alpha = s.dt == CONVX_DATA_DOUBLE ? Acc(s.alpha) : Acc(float(s.alpha));
    const Acc beta = s.dt == CONVX_DATA_DOUBLE ? Acc(s.beta) : Acc(float(s.beta));
    T* x = static_cast<T*>(c.x.data());
    T* w = static_cast<T*>(c.w.data());
    T* y = static_cast<T*>(c.y.data());
    if (p.dir == convx::Direction::BackwardFilter) {
        emulateFilter<T, Acc>(filterGeom(p), x, y, w, alpha, beta);
        return;
    }
    const bool fwd = p.dir == convx::Direction::Forward;
    const T* src = fwd ? x : y;
    T* dst = fwd ? y : x;
    PlaneGeom G;
    const bool planes = planesFit(p, int(sizeof(Acc)), &G);
    if ((path == Path::Dispatch || path == Path::Planes || path == Path::PlanesGeneric) && planes) {
        G.vec = reinterpret_cast<uintptr_t>(src) % 16 == 0;
        const bool spec = path != Path::PlanesGeneric && !G.phases && G.dw == 1 && (G.S == 3 || G.S == 5) && (G.sw == 1 || G.sw == 2) &&
                          sizeof(T) != 8;
        if (!spec) emulatePlanes<T, Acc, 0, 0>(G, src, w, dst, alpha, beta);
        else if (G.S == 3 && G.sw == 1) emulatePlanes<T, Acc, 3, 1>(G, src, w, dst, alpha, beta);
        else if (G.S == 3) emulatePlanes<T, Acc, 3, 2>(G, src, w, dst, alpha, beta);
        else if (G.sw == 1) emulatePlanes<T, Acc, 5, 1>(G, src, w, dst, alpha, beta);
        else emulatePlanes<T, Acc, 5, 2>(G, src, w, dst, alpha, beta);
        return;
    }
    constexpr int VE = 16 / sizeof(T);
    const bool vec = path != Path::ChannelsScalar && chanVectors(conv3dOf(p), !fwd, VE);
    if (vec && path != Path::ChannelsPixel && sizeof(T) != 8) {  // the register-window form (mirrors the dispatch)
        const ChanGeom G1 = chanGeom(p, VE, int(sizeof(Acc)));
        for (int ks : {3, 5})
            if (chanRowFits(p, G1, ks)) {
                const ChanGeom Gw = chanGeom(p, VE, int(sizeof(Acc)), kPX);
                if (ks == 3) emulateChannels<T, Acc, VE, 3>(Gw, src, w, dst, alpha, beta);
                else emulateChannels<T, Acc, VE, 5>(Gw, src, w, dst, alpha, beta);
                return;
            }
    }
    if (vec) emulateChannels<T, Acc, VE>(chanGeom(p, VE, int(sizeof(Acc))), src, w, dst, alpha, beta);
    else emulateChannels<T, Acc, 1>(chanGeom(p, 1, int(sizeof(Acc))), src, w, dst, alpha, beta);
}

// Runs the reference, then the emulated kernel on the same inputs and prior output; compares.
void checkEmulated(const Spec& s, Path path, int* planesRuns = nullptr) {
    testutil::Handle h;
    harness::Case c(s);
    const convx::Problem p = harness::problemOf(c);
    INFO(c.describe() << " path " << int(path));
    c.fill();
    const harness::Buffer prior = c.output();
    REQUIRE(c.run(h.h, CONVX_ALGO_REFERENCE) == CONVX_STATUS_SUCCESS);
    const harness::Buffer reference = c.output();
    c.output() = prior;
    if (planesRuns && p.dir != convx::Direction::BackwardFilter && convx::dw::planesFit(p, 4, nullptr)) ++*planesRuns;
    if (s.dt == CONVX_DATA_DOUBLE) emulate<double, double>(c, p, path);
    else emulate<float, float>(c, p, path);
    std::string detail;
    const bool ok = c.compareWith(reference, prior, harness::algoTolerance(s.dt), &detail);
    INFO(detail);
    CHECK(ok);
}

}  // namespace

TEST_CASE("depthwise cuda: tap sets of a stride phase match the definition", "[depthwise][cuda-plan]") {
    for (int64_t s = 1; s <= 5; ++s)
        for (int64_t d = 1; d <= 4; ++d)
            for (int64_t K = 1; K <= 8; ++K)
                for (int64_t a = -6; a <= 30; ++a) {
                    std::vector<int64_t> want, got;
                    for (int64_t j = 0; j < K; ++j)
                        if (((a - j * d) % s + s) % s == 0) want.push_back(j);
                    const convx::dw::TapSet t = convx::dw::tapSet(a, d, s, K);
                    for (int64_t j = t.first; j < K; j += t.step) got.push_back(j);
                    INFO("a " << a << " d " << d << " s " << s << " K " << K);
                    CHECK(got == want);
                }
}

TEST_CASE("depthwise cuda: plane tiles cover every output once and stage what the taps read", "[depthwise][cuda-plan]") {
    using namespace convx::dw;
    std::mt19937_64 rng(606);
    const int count = testutil::scaled(150);
    int tested = 0, phased = 0;
    for (int i = 0; i < count; ++i) {
        Spec s = randomDw(rng, i % 2 ? Dir::BwdData : Dir::Fwd, CONVX_DATA_FLOAT);
        s.xFmt = s.yFmt = CONVX_TENSOR_NCHW;
        s.xGapped = s.yGapped = false;
        if (!s.valid()) continue;
        harness::Case c(s);
        const convx::Problem p = harness::problemOf(c);
        PlaneGeom G;
        if (!planesFit(p, 4, &G)) continue;
        ++tested;
        phased += G.phases;
        INFO(c.describe());
        REQUIRE(G.threads % 32 == 0);
        REQUIRE(G.threads <= kBlockThreads);
        REQUIRE(G.smemElems * 4 <= kSharedMax);
        REQUIRE(G.PW % 4 == 0);
        // Every destination (plane, row, column) exactly once.
        std::vector<int> hits(size_t(G.planes * G.Hd * G.Wd), 0);
        bool readsOk = true, valuesOk = true;
        for (int64_t b = 0; b < G.blocks; ++b) {
            const TileOrigin o = tileOrigin(G, b);
            for (int tid = 0; tid < G.threads; ++tid) {
                const ThreadPos t = threadPos(G, tid);
                if (!t.on) continue;
                const int64_t plane = o.plane0 + t.pb, oh = o.oh0 + t.ty;
                for (int v = 0; v < kV; ++v) {
                    const int64_t ow = o.ow0 + t.tx * kV + v;
                    const bool real = plane < G.planes && oh < G.Hd && ow < G.Wd;
                    if (real) ++hits[size_t((plane * G.Hd + oh) * G.Wd + ow)];
                    // The source positions the thread reads for this output (staged-tile relative),
                    // against the definition's set.
                    std::set<std::pair<int64_t, int64_t>> want, got;
                    for (int64_t r = 0; r < G.R; ++r)
                        for (int64_t j = 0; j < G.S; ++j) {
                            if (!G.phases) {
                                want.insert({oh * G.sh - G.ph + r * G.dh, ow * G.sw - G.pw + j * G.dw});
                                const int64_t row = t.ty * G.sh + r * G.dh, col = (t.tx * kV + v) * G.sw + j * G.dw;
                                got.insert({o.ih0 + row, o.iw0 + col});
                                readsOk &= row < G.TIH && col / G.Q < G.PW;
                            } else {
                                const int64_t ah = oh + G.ph - r * G.dh, aw = ow + G.pw - j * G.dw;
                                if (ah % G.sh == 0 && aw % G.sw == 0 && ah >= 0 && aw >= 0 && ah / G.sh < G.Hs && aw / G.sw < G.Ws)
                                    want.insert({ah / G.sh, aw / G.sw});
                            }
                        }
                    if (G.phases) {
                        const TapSet rs = tapSet(oh + G.ph, G.dh, G.sh, G.R), js = tapSet(ow + G.pw, G.dw, G.sw, G.S);
                        for (int64_t r = rs.first; r < G.R; r += rs.step)
                            for (int64_t j = js.first; j < G.S; j += js.step) {
                                const int64_t ih = (oh + G.ph - r * G.dh) / G.sh, iw = (ow + G.pw - j * G.dw) / G.sw;
                                readsOk &= ih - o.ih0 >= 0 && ih - o.ih0 < G.TIH && iw - o.iw0 >= 0 && iw - o.iw0 < G.PW;
                                if (ih >= 0 && iw >= 0 && ih < G.Hs && iw < G.Ws) got.insert({ih, iw});
                            }
                    }
                    if (real && got != want) readsOk = false;
                }
            }
            // Staging: every slot holds the source element it stands for, zero outside the image.
            if (b % 7 == 0) {
                std::vector<double> src(size_t(G.planes * G.M * G.Hs * G.Ws) + 8);
                std::iota(src.begin(), src.end(), 1.0);
                PlaneGeom Gs = G;
                Gs.vec = true;
                // Source strides of a packed channels-first tensor with K = C M planes when bwd.
                const int64_t chans = G.bwd ? G.C * G.M : G.C;
                Gs.sH = G.Ws, Gs.sC = G.Hs * G.Ws, Gs.sN = chans * G.Hs * G.Ws;
                std::vector<double> sm(size_t(Gs.smemElems), -1.0);
                const int64_t m = G.bwd ? G.M - 1 : 0;
                for (int tid = 0; tid < Gs.threads; ++tid) stage<double, double>(Gs, o, src.data(), m, tid, Gs.threads, sm.data());
                for (int64_t pb = 0; pb < Gs.PB; ++pb)
                    for (int64_t row = 0; row < Gs.TIH; ++row)
                        for (int64_t col = 0; col < Gs.Q * Gs.PW; ++col) {
                            const int64_t plane = o.plane0 + pb, ih = o.ih0 + row, iw = o.iw0 + col;
                            double want = 0;
                            if (plane < Gs.planes && ih >= 0 && ih < Gs.Hs && iw >= 0 && iw < Gs.Ws) {
                                const int64_t n = plane / Gs.C, ch = Gs.bwd ? plane % Gs.C * Gs.M + m : plane % Gs.C;
                                want = double(n * Gs.sN + ch * Gs.sC + ih * Gs.sH + iw) + 1.0;
                            }
                            valuesOk &= sm[size_t(smemIndex(Gs, pb, row, col))] == want;
                        }
            }
        }
        CHECK(readsOk);
        CHECK(valuesOk);
        CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
    }
    CHECK(tested > count / 4);
    CHECK(phased > 0);
}

TEST_CASE("depthwise cuda: weight-gradient chunks partition the reduction in order", "[depthwise][cuda-plan]") {
    using namespace convx::dw;
    std::mt19937_64 rng(707);
    for (int i = 0; i < testutil::scaled(200); ++i) {
        Spec s = randomDw(rng, Dir::BwdFilter, CONVX_DATA_FLOAT);
        s.N = uni(rng, 1, 16);
        s.in[0] = uni(rng, 1, 120);
        if (!s.valid()) continue;
        harness::Case c(s);
        const convx::Problem p = harness::problemOf(c);
        const FilterGeom G = filterGeom(p);
        INFO(c.describe());
        REQUIRE(G.chunks >= 1);
        REQUIRE(G.chunks <= 2048);
        int64_t next = 0;
        for (int64_t ch = 0; ch < G.chunks; ++ch) {
            int64_t l0, l1;
            chunkRange(G, ch, &l0, &l1);
            CHECK(l0 == next);
            CHECK(l1 > l0);
            next = l1;
        }
        CHECK(next == G.L);
        // The workspace follows from the Problem alone.
        CHECK(filterWorkspaceElems(G) == filterWorkspaceElems(filterGeom(harness::problemOf(c))));
    }
}

TEST_CASE("depthwise cuda kernels, emulated on the host, match the reference", "[depthwise][cuda-emulation]") {
    std::mt19937_64 rng(8080);
    const int count = testutil::scaled(36);
    int planes = 0;
    for (int i = 0; i < count; ++i) {
        const Dir dir = static_cast<Dir>(i % 3);
        const convxDataType_t dt = i % 5 == 4 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        checkEmulated(randomDw(rng, dir, dt, true), Path::Dispatch, &planes);
    }
    CHECK(planes > 0);
}

TEST_CASE("depthwise cuda: the specialised 3x3/5x5 plane kernels and the general ones agree with the reference",
          "[depthwise][cuda-emulation]") {
    std::mt19937_64 rng(9090);
    const int count = testutil::scaled(16);
    for (int i = 0; i < count; ++i) {
        const Dir dir = i % 4 == 3 ? Dir::BwdData : Dir::Fwd;  // backward-data at stride 1 runs them too
        Spec s = specialisedDw(rng, dir, CONVX_DATA_FLOAT);
        if (dir == Dir::BwdData) s.stride[0] = s.stride[1] = 1;
        if (!s.valid()) continue;
        checkEmulated(s, Path::Planes);
        if (i % 4 == 0) checkEmulated(s, Path::PlanesGeneric);
    }
}

TEST_CASE("depthwise cuda: the channels kernel (vectors and scalars) takes any layout", "[depthwise][cuda-emulation]") {
    std::mt19937_64 rng(1111);
    const int count = testutil::scaled(16);
    for (int i = 0; i < count; ++i) {
        const Dir dir = i % 2 ? Dir::BwdData : Dir::Fwd;
        Spec s = randomDw(rng, dir, i % 4 == 3 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT, true);
        if (i % 3 == 0) {  // multiplier 1, channels a multiple of 8, channels-last: the vector path
            s.K = s.C = s.G = 8 * uni(rng, 1, 3);
            s.xFmt = s.yFmt = CONVX_TENSOR_NHWC;
            s.xGapped = s.yGapped = false;
            if (i % 2 == 0) {  // forward 3x3 / 5x5 at W stride 1: the register-window form
                s.dir = Dir::Fwd;
                const int j = s.nsp - 1;
                s.ker[j] = uni(rng, 0, 1) ? 3 : 5, s.stride[j] = 1, s.dil[j] = 1, s.pad[j] = uni(rng, 0, s.ker[j]);
            }
        }
        if (!s.valid()) continue;
        checkEmulated(s, Path::Channels);
        if (i % 3 == 0) checkEmulated(s, Path::ChannelsPixel);
        if (i % 3 == 0) checkEmulated(s, Path::ChannelsScalar);
    }
}

TEST_CASE("depthwise cuda: MobileNet-like layers, emulated", "[depthwise][cuda-emulation]") {
    const char* layers[] = {
        "--dir=fwd --dt=f32 --tag=nchw g16mb1ic16ih28iw28oc16oh28ow28kh3kw3sh1sw1ph1pw1dh0dw0",
        "--dir=fwd --dt=f32 --tag=nchw g8mb2ic8ih29iw29oc8oh15ow15kh3kw3sh2sw2ph1pw1dh0dw0",
        "--dir=fwd --dt=f32 --tag=nchw g8mb1ic8ih14iw14oc8oh7ow7kh5kw5sh2sw2ph2pw2dh0dw0",
        "--dir=bwd_d --dt=f32 --tag=nchw g8mb2ic8ih28iw28oc16oh14ow14kh3kw3sh2sw2ph1pw1dh0dw0",
        "--dir=bwd_d --dt=f32 --tag=nchw g12mb1ic12ih14iw14oc12oh14ow14kh5kw5sh1sw1ph2pw2dh0dw0",
        "--dir=bwd_w --dt=f32 --tag=nchw g16mb2ic16ih21iw21oc16oh11ow11kh3kw3sh2sw2ph1pw1dh0dw0",
        "--dir=fwd --dt=f32 --tag=nhwc g32mb2ic32ih7iw7oc32oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0",
        "--dir=bwd_d --dt=f32 --tag=nhwc g24mb1ic24ih14iw14oc24oh7ow7kh5kw5sh2sw2ph2pw2dh0dw0",
        "--dir=bwd_w --dt=f32 --tag=nhwc g40mb2ic40ih14iw14oc40oh14ow14kh5kw5sh1sw1ph2pw2dh0dw0",
    };
    for (const char* l : layers) {
        const convx::Problem p = convx::parseProblem(l);
        Spec s;
        s.dir = static_cast<Dir>(static_cast<int>(p.dir));
        s.nsp = p.nsp;
        s.N = int(p.N), s.C = int(p.C), s.K = int(p.K), s.G = int(p.G);
        for (int i = 0; i < p.nsp; ++i) {
            s.in[i] = int(p.in[i]), s.ker[i] = int(p.ker[i]), s.stride[i] = int(p.stride[i]);
            s.pad[i] = int(p.pad[i]), s.dil[i] = int(p.dil[i]);
        }
        s.xFmt = s.yFmt = s.wFmt = static_cast<convxTensorFormat_t>(p.xLayout);
        s.alpha = 1, s.beta = 0;
        REQUIRE(s.valid());
        checkEmulated(s, Path::Dispatch);
        s.alpha = 0.5, s.beta = 1;
        checkEmulated(s, Path::Dispatch);
    }
}
