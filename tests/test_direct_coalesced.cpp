// CONVX_ALGO_DIRECT_COALESCED: the plan's tiling (hand-checked cuConv layers, and coverage of
// every output by exactly one GPU thread emulated on the host), and the CPU twin against the
// reference on the families it treats specially.
#include <map>
#include <set>
#include <vector>

#include "algo_check.h"
#include "direct_coalesced_plan.h"
#include "direct_coalesced_tile.h"
#include "execute.h"
#include "problem.h"
#include "registry.h"

using harness::AlgoCheck;
using harness::Dir;
using harness::Spec;

namespace {

constexpr convxConvAlgo_t kAlgo = CONVX_ALGO_DIRECT_COALESCED;

convx::Problem prob(const std::string& s) { return convx::parseProblem(s); }

// Every output (m, k) of the problem is owned by exactly one (block, thread, j, i) of the GPU
// plan, through the same index functions the kernel calls.
void checkGpuCoverage(const convx::Problem& p, const convx::DcGpuPlan& pl) {
    const int64_t M = p.N * p.outPixels();
    REQUIRE(pl.M == M);
    std::vector<int> owned(static_cast<size_t>(M * p.K), 0);
    int64_t badIndex = 0;  // counted, not asserted per element: millions of outputs
    for (int64_t blk = 0; blk < pl.blocks; ++blk) {
        const convx::DcBlockTile t = convx::dcBlockTile(pl, blk);
        if (t.grp >= p.G) ++badIndex;
        for (int tid = 0; tid < pl.threads(); ++tid) {
            int pix = 0, kx = 0;
            convx::dcThreadIndex(pl, tid, &pix, &kx);
            if (pix >= pl.pixThreads || kx >= pl.kThreads) ++badIndex;
            for (int j = 0; j < pl.PT; ++j)
                for (int i = 0; i < pl.KT; ++i) {
                    const int64_t m = t.m0 + int64_t(pix) * pl.PT + j, k = t.k0 + int64_t(kx) * pl.KT + i;
                    if (m < M && k < p.Kg()) owned[static_cast<size_t>(m * p.K + t.grp * p.Kg() + k)]++;
                }
        }
    }
    REQUIRE(badIndex == 0);
    int64_t notOnce = 0, first = -1;
    for (size_t i = 0; i < owned.size(); ++i)
        if (owned[i] != 1) notOnce++, first = first < 0 ? int64_t(i) : first;
    INFO("first output not owned exactly once: " << first);
    REQUIRE(notOnce == 0);
}

void checkGpuInvariants(const convx::Problem& p, const convx::DcGpuPlan& pl) {
    INFO(p.str());
    CHECK(pl.threads() >= 1);
    CHECK(pl.threads() <= 1024);
    CHECK(pl.BP == int64_t(pl.pixThreads) * pl.PT);
    CHECK(pl.BK == int64_t(pl.kThreads) * pl.KT);
    CHECK(pl.sharedStride == pl.BK + 1);
    CHECK(pl.CS >= 1);
    CHECK(pl.CS <= p.Cg());
    CHECK(pl.sharedBytes == size_t(pl.CS * p.taps() * pl.sharedStride) * (p.dtype == convx::DType::F64 ? 8 : 4));
    if (pl.CS > 1) CHECK(pl.sharedBytes <= convx::kDcSharedBudget);
    CHECK(pl.blocks == pl.mBlocks * p.G * pl.kBlocksPerGroup);
    CHECK((pl.KT == 1 || pl.PT == 1));
    CHECK((pl.lanesOverK ? pl.KT == 1 : pl.PT == 1));
    const bool pw = p.taps() == 1 && p.pad[0] == 0 && p.pad[1] == 0 && p.pad[2] == 0;
    CHECK((pl.variant == convx::DcVariant::Pointwise) == pw);
    checkGpuCoverage(p, pl);
}

}  // namespace

TEST_CASE("direct_coalesced plan: cuConv layers by hand", "[direct_coalesced][plan]") {
    SECTION("7x7x832->256 1x1, batch 1: too few outputs for a register tile, blocks split along k") {
        const convx::Problem p = prob("g1mb1ic832ih7iw7oc256oh7ow7kh1kw1sh1sw1ph0pw0dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(pl.variant == convx::DcVariant::Pointwise);
        CHECK(!pl.lanesOverK);
        CHECK(pl.M == 49);
        CHECK(pl.pixThreads == 32);
        CHECK(pl.KT == 1);  // 12544 outputs < 132 * 192 threads
        CHECK(pl.mBlocks == 2);
        // 4 rows of k (128 threads) give 2 * 64 = 128 blocks < 264: halved to 2 rows, then 1
        CHECK(pl.kThreads == 1);
        CHECK(pl.kBlocksPerGroup == 256);
        CHECK(pl.blocks == 512);
        CHECK(pl.CS == 64);  // capped; 64 * 1 tap * 2 * 4 bytes
        CHECK(pl.sharedBytes == 64 * 2 * 4);
        checkGpuInvariants(p, pl);
    }
    SECTION("14x14x256->1024 1x1, batch 1: four channels per thread") {
        const convx::Problem p = prob("g1mb1ic256ih14iw14oc1024oh14ow14kh1kw1sh1sw1ph0pw0dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(pl.KT == 4);  // 200704 / 8 = 25088 < 25344 <= 200704 / 4
        CHECK(pl.pixThreads == 32);
        CHECK(pl.kThreads == 4);
        CHECK(pl.BK == 16);
        CHECK(pl.mBlocks == 7);  // 196 / 32
        CHECK(pl.kBlocksPerGroup == 64);
        CHECK(pl.blocks == 448);
        checkGpuInvariants(p, pl);
    }
    SECTION("4x4x192->384 3x3, batch 1: half-warp pixel rows") {
        const convx::Problem p = prob("g1mb1ic192ih4iw4oc384oh4ow4kh3kw3sh1sw1ph1pw1dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(pl.variant == convx::DcVariant::General);
        CHECK(pl.pixThreads == 16);
        CHECK(pl.KT == 1);
        CHECK(pl.mBlocks == 1);
        checkGpuInvariants(p, pl);
    }
    SECTION("the same layer at batch 32 takes the full register tile") {
        const convx::Problem p = prob("g1mb32ic384ih13iw13oc384oh13ow13kh3kw3sh1sw1ph1pw1dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(pl.KT == 8);
        CHECK(pl.kThreads == 4);
        CHECK(pl.BK == 32);
        CHECK(pl.CS == 20);  // 24 KiB / (9 taps * 33 * 4 bytes) = 20.6
        CHECK(pl.M == 32 * 169);
        checkGpuInvariants(p, pl);
    }
    SECTION("channels-last: lanes over output channels") {
        const convx::Problem p = prob("--tag=nhwc g1mb1ic48ih7iw7oc128oh7ow7kh5kw5sh1sw1ph2pw2dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(pl.lanesOverK);
        CHECK(pl.kThreads == 32);
        CHECK(pl.KT == 1);
        CHECK(pl.PT == 1);
        checkGpuInvariants(p, pl);
    }
    SECTION("a 7x7x7 window at batch 32 narrows the block to fit the shared stage") {
        const convx::Problem p = prob("g1mb32ic64id5ih4iw4oc256od5oh4ow4kd7kh7kw7sd1sh1sw1pd3ph3pw3dd0dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(pl.sharedBytes <= convx::kDcSharedMax);
        CHECK(pl.BK * 343 * 4 <= int64_t(convx::kDcSharedMax));
        std::string why;
        CHECK(convx::dcGpuFits(p, &why));
        checkGpuInvariants(p, pl);
    }
    SECTION("channels-last depthwise keeps lanes over pixels") {
        const convx::Problem p = prob("--tag=nhwc g64mb1ic64ih14iw14oc64oh14ow14kh3kw3sh1sw1ph1pw1dh0dw0");
        const convx::DcGpuPlan pl = convx::planDcGpu(p);
        CHECK(!pl.lanesOverK);
        CHECK(pl.KT == 1);
        CHECK(pl.kThreads == 1);
        checkGpuInvariants(p, pl);
    }
}

TEST_CASE("direct_coalesced plan: CPU tiling and packed filter", "[direct_coalesced][plan]") {
    SECTION("1x1 stride 1 NCHW flattens the plane into one row") {
        const convx::Problem p = prob("g1mb2ic16ih7iw7oc12oh7ow7kh1kw1sh1sw1ph0pw0dh0dw0");
        const convx::DcCpuPlan pl = convx::planDcCpu(p);
        CHECK(pl.flat);
        CHECK(pl.path == convx::DcCpuPath::ChannelsFirst);
        CHECK(pl.g.O[2] == 49);
        CHECK(pl.g.I[2] == 49);
        CHECK(pl.chunks == 1);
        CHECK(pl.KgPad == 16);
        CHECK(pl.kBlocks == 3);            // 12 / 4
        CHECK(pl.tasks == 2 * 1 * 3 * 1);  // N * G * kBlocks * chunks
        CHECK(pl.packedBytes == size_t(1 * 1 * 16 * 16) * 4);
        CHECK(pl.packedBytes == convx::dcCpuPackedFilterBytes(p));
    }
    SECTION("strided 1x1 is pointwise but not flat") {
        const convx::Problem p = prob("g1mb1ic8ih8iw8oc8oh4ow4kh1kw1sh2sw2ph0pw0dh0dw0");
        const convx::DcCpuPlan pl = convx::planDcCpu(p);
        CHECK(pl.variant == convx::DcVariant::Pointwise);
        CHECK(!pl.flat);
        CHECK(pl.chunks == 1);
    }
    SECTION("channels-last grouped 3x3 in f64") {
        const convx::Problem p = prob("--dt=f64 --tag=nhwc g2mb3ic6ih5iw6oc10oh5ow6kh3kw3sh1sw1ph1pw1dh0dw0");
        const convx::DcCpuPlan pl = convx::planDcCpu(p);
        CHECK(!pl.flat);
        CHECK(pl.path == convx::DcCpuPath::ChannelsLast);
        CHECK(pl.KgPad == 8);
        CHECK(pl.kTile == 4);
        CHECK(pl.kBlocks == 2);  // Kg 5 over vectors of 4 doubles
        CHECK(pl.chunks == 1);  // 30 pixels
        CHECK(pl.tasks == 3 * 2 * 2 * 1);
        CHECK(pl.packedBytes == size_t(2 * 9 * 3 * 8) * 8);
    }
    SECTION("channels-last groups with few output channels take the channels-first tile, one channel wide") {
        const convx::Problem p = prob("--tag=nhwc g16mb1ic32ih9iw9oc16oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0");
        const convx::DcCpuPlan pl = convx::planDcCpu(p);
        CHECK(pl.path == convx::DcCpuPath::ChannelsFirst);
        CHECK(pl.kTile == 1);
        CHECK(pl.kBlocks == 1);
        CHECK(pl.chunks == 2);  // 81 pixels
        CHECK(pl.tasks == 2 * 1 * 16 * 1);
        CHECK(pl.packedBytes == size_t(16 * 9 * 2 * 8) * 4);
    }
    SECTION("depthwise with a small channel multiplier is declined with a reason") {
        std::string why;
        CHECK(!convx::dcCpuFits(prob("g32mb1ic32ih7iw7oc64oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0"), &why));
        CHECK(why.find("depthwise") != std::string::npos);
        CHECK(convx::dcCpuFits(prob("g32mb1ic32ih7iw7oc128oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0"), &why));
        CHECK(convx::dcGpuFits(prob("g32mb1ic32ih7iw7oc32oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0"), &why));  // the GPU takes it
    }
    SECTION("f16 is rejected with a reason") {
        std::string why;
        CHECK(!convx::dcCpuFits(prob("--dt=f16 g1mb1ic4ih5iw5oc4oh5ow5kh3kw3sh1sw1ph1pw1dh0dw0"), &why));
        CHECK(!why.empty());
    }
}

TEST_CASE("direct_coalesced plan: random problems", "[direct_coalesced][plan]") {
    std::mt19937_64 rng(77);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const int count = testutil::scaled(150);
    for (int i = 0; i < count; ++i) {
        const int G = uni(0, 3) == 0 ? uni(2, 4) : 1;
        const int nsp = uni(1, 3);
        std::string s = std::string(uni(0, 1) ? "--tag=nhwc " : "") + (uni(0, 3) == 0 ? "--dt=f64 " : "");
        s += "g" + std::to_string(G) + "mb" + std::to_string(uni(1, 5)) + "ic" + std::to_string(G * uni(1, 40));
        const char* L[4] = {"", "w", "hw", "dhw"};
        int in[3], k[3], st[3], pd[3], dl[3], o[3];
        for (int d = 0; d < nsp; ++d) {
            in[d] = uni(1, nsp == 3 ? 6 : 30), k[d] = uni(1, nsp == 3 ? 3 : 5), st[d] = uni(1, 2), dl[d] = uni(1, 2);
            pd[d] = uni(0, k[d]);
            o[d] = int(convx::convOutputSize(in[d], k[d], st[d], pd[d], dl[d]));
            if (o[d] < 1) pd[d] = ((k[d] - 1) * dl[d] + 1), o[d] = int(convx::convOutputSize(in[d], k[d], st[d], pd[d], dl[d]));
        }
        for (int d = 0; d < nsp; ++d) s += std::string("i") + L[nsp][d] + std::to_string(in[d]);
        s += "oc" + std::to_string(G * uni(1, 70));
        for (int d = 0; d < nsp; ++d) s += std::string("o") + L[nsp][d] + std::to_string(o[d]);
        for (int d = 0; d < nsp; ++d) s += std::string("k") + L[nsp][d] + std::to_string(k[d]);
        for (int d = 0; d < nsp; ++d) s += std::string("s") + L[nsp][d] + std::to_string(st[d]);
        for (int d = 0; d < nsp; ++d) s += std::string("p") + L[nsp][d] + std::to_string(pd[d]);
        for (int d = 0; d < nsp; ++d) s += std::string("d") + L[nsp][d] + std::to_string(dl[d] - 1);
        INFO(s);
        const convx::Problem p = prob(s);
        checkGpuInvariants(p, convx::planDcGpu(p, uni(1, 140)));
        const convx::DcCpuPlan c = convx::planDcCpu(p);
        CHECK(c.KgPad % convx::kDcCpuKPad == 0);
        CHECK(c.KgPad >= p.Kg());
        CHECK(c.packedBytes == size_t(p.G * p.taps() * p.Cg() * c.KgPad) * convx::dtypeSize(p.dtype));
        CHECK(c.g.outPix == p.outPixels());
    }
}

// ------------------------------------------------------------------ CPU conformance families

namespace {

AlgoCheck family(uint64_t seed, int count, harness::Shape shape, convxDataType_t dt = CONVX_DATA_FLOAT) {
    AlgoCheck c;
    c.algo = kAlgo;
    c.dir = Dir::Fwd;
    c.dt = dt;
    c.count = count;
    c.seed = seed;
    // Redraw what the CPU executor declines (depthwise with a channel multiplier below 4); the
    // decline itself is tested on its own.
    c.shape = [shape = std::move(shape)](std::mt19937_64& r, Spec& s) {
        if (shape && !shape(r, s)) return false;
        return !(s.C / s.G == 1 && s.K / s.G < convx::kDcCpuKT);
    };
    return c;
}

int uniform(std::mt19937_64& r, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(r); }

// A 2-D problem with many channels on a small map, the cuConv regime scaled down.
bool smallMapManyChannels(std::mt19937_64& r, Spec& s, int ker) {
    s.nsp = 2;
    s.G = 1;
    s.N = uniform(r, 1, 2);
    s.C = uniform(r, 8, 40);
    s.K = uniform(r, 5, 37);
    for (int i = 0; i < 2; ++i) {
        s.in[i] = uniform(r, 3, 14);
        s.ker[i] = ker;
        s.stride[i] = 1;
        s.dil[i] = 1;
        s.pad[i] = (ker - 1) / 2;
    }
    return true;
}

}  // namespace

TEST_CASE("direct_coalesced cpu: cuConv-like small maps, 1x1, 3x3, 5x5", "[direct_coalesced]") {
    for (int ker : {1, 3, 5}) {
        INFO("kernel " << ker);
        CHECK(harness::checkAlgorithm(family(100 + ker, 12, [ker](std::mt19937_64& r, Spec& s) { return smallMapManyChannels(r, s, ker); })) > 0);
        CHECK(harness::checkAlgorithm(family(200 + ker, 6, [ker](std::mt19937_64& r, Spec& s) { return smallMapManyChannels(r, s, ker); },
                                             CONVX_DATA_DOUBLE)) > 0);
    }
}

TEST_CASE("direct_coalesced cpu: 7x7 stride 2, dilation, odd widths", "[direct_coalesced]") {
    CHECK(harness::checkAlgorithm(family(301, 10, [](std::mt19937_64& r, Spec& s) {
              s.nsp = 2;
              s.ker[0] = s.ker[1] = 7;
              s.stride[0] = s.stride[1] = 2;
              s.dil[0] = s.dil[1] = 1;
              s.pad[0] = s.pad[1] = 3;
              s.in[0] = uniform(r, 5, 23);
              s.in[1] = uniform(r, 5, 41);
              return true;
          })) > 0);
    CHECK(harness::checkAlgorithm(family(302, 12, [](std::mt19937_64& r, Spec& s) {
              s.nsp = 2;
              for (int i = 0; i < 2; ++i) {
                  s.ker[i] = 3;
                  s.dil[i] = uniform(r, 2, 4);
                  s.pad[i] = s.dil[i];
                  s.stride[i] = uniform(r, 1, 2);
                  s.in[i] = uniform(r, 4, 19);
              }
              return true;
          })) > 0);
    // widths that are not a multiple of the vector (8) or pixel tile (4): 1..3 tiles plus a tail
    CHECK(harness::checkAlgorithm(family(303, 16, [](std::mt19937_64& r, Spec& s) {
              s.nsp = 2;
              s.in[1] = 8 * uniform(r, 1, 3) + uniform(r, 1, 7);
              s.ker[1] = uniform(r, 1, 3);
              s.stride[1] = 1;
              s.dil[1] = 1;
              s.pad[1] = (s.ker[1] - 1) / 2;
              s.K = s.G * uniform(r, 1, 19);  // not a multiple of the channel tile
              return true;
          })) > 0);
}

TEST_CASE("direct_coalesced cpu: groups, depthwise, small maps, big pads", "[direct_coalesced]") {
    CHECK(harness::checkAlgorithm(family(401, 12, [](std::mt19937_64& r, Spec& s) {
              s.G = uniform(r, 2, 4);
              s.C = s.G * uniform(r, 1, 9);
              s.K = s.G * uniform(r, 1, 9);
              return true;
          })) > 0);
    // Depthwise with a channel multiplier of 4 or more runs; below, the CPU executor declines.
    CHECK(harness::checkAlgorithm(family(402, 10, [](std::mt19937_64& r, Spec& s) {
              s.G = s.C = uniform(r, 2, 6);
              s.K = s.C * uniform(r, 4, 6);
              return true;
          })) > 0);
    AlgoCheck dw = family(405, 6, nullptr);
    dw.shape = nullptr;
    dw.gen.depthwise = true;  // multiplier 1 or 2
    dw.mustApply = false;
    CHECK(harness::checkAlgorithm(dw) == 0);
    AlgoCheck small = family(403, 12, nullptr);
    small.gen.smallMaps = true;
    CHECK(harness::checkAlgorithm(small) > 0);
    CHECK(harness::checkAlgorithm(family(404, 10, [](std::mt19937_64& r, Spec& s) {
              for (int i = 0; i < s.nsp; ++i) s.pad[i] = s.ker[i] + uniform(r, 0, 2);
              return true;
          })) > 0);
}

TEST_CASE("direct_coalesced cpu: layouts, alpha/beta, gapped tensors, 1-D and 3-D", "[direct_coalesced]") {
    for (int nsp = 1; nsp <= 3; ++nsp) {
        for (convxTensorFormat_t f : {CONVX_TENSOR_NCHW, CONVX_TENSOR_NHWC}) {
            INFO("nsp " << nsp << " format " << int(f));
            AlgoCheck c = family(500 + nsp * 10 + int(f), 8, [f](std::mt19937_64& r, Spec& s) {
                s.xFmt = s.yFmt = f;
                s.wFmt = uniform(r, 0, 1) ? CONVX_TENSOR_NCHW : CONVX_TENSOR_NHWC;
                s.C = s.G * uniform(r, 1, 12);
                s.K = s.G * uniform(r, 1, 12);
                return true;
            });
            c.gen.nsp = nsp;
            CHECK(harness::checkAlgorithm(c) > 0);
        }
    }
    AlgoCheck gapped = family(551, 10, nullptr);
    gapped.gen.gapped = true;
    CHECK(harness::checkAlgorithm(gapped) > 0);
    for (int beta = 0; beta <= 2; ++beta) {
        AlgoCheck c = family(560 + beta, 8, nullptr);
        c.gen.betaKind = beta;
        CHECK(harness::checkAlgorithm(c) > 0);
    }
    AlgoCheck f64 = family(571, 15, nullptr, CONVX_DATA_DOUBLE);
    CHECK(harness::checkAlgorithm(f64) > 0);
}

TEST_CASE("direct_coalesced cpu: hand-picked edges", "[direct_coalesced]") {
    Spec s;
    s.nsp = 2;
    s.N = 2, s.C = 19, s.K = 13;
    s.in[0] = 4, s.in[1] = 4, s.ker[0] = 3, s.ker[1] = 3, s.pad[0] = 1, s.pad[1] = 1;
    for (convxTensorFormat_t f : {CONVX_TENSOR_NCHW, CONVX_TENSOR_NHWC}) {
        s.xFmt = s.yFmt = s.wFmt = f;
        s.mode = CONVX_CONVOLUTION;
        s.alpha = 0.5, s.beta = 1.0;
        harness::checkAlgorithmOn(kAlgo, s);  // cuConv's 4x4 3x3 at small scale, mirrored taps
        Spec one = s;
        one.in[0] = one.in[1] = 1, one.ker[0] = one.ker[1] = 5, one.pad[0] = one.pad[1] = 2;
        harness::checkAlgorithmOn(kAlgo, one);  // 1x1 map, 5x5 filter: only the centre tap
        Spec pw = s;
        pw.ker[0] = pw.ker[1] = 1, pw.pad[0] = pw.pad[1] = 0, pw.in[0] = 7, pw.in[1] = 7, pw.C = 33, pw.K = 9;
        harness::checkAlgorithmOn(kAlgo, pw);  // flat 1x1 with a vector tail (49 = 6*8 + 1)
    }
}

TEST_CASE("direct_coalesced cpu: bitwise identical for any thread count", "[direct_coalesced]") {
    const convx::Algorithm* a = nullptr;
    for (const convx::Algorithm* c : convx::algorithmsFor(CONVX_BACKEND_CPU, convx::Direction::Forward))
        if (c->id() == kAlgo) a = c;
    REQUIRE(a != nullptr);
    testutil::Handle h;
    std::mt19937_64 rng(901);
    for (int i = 0; i < testutil::scaled(6); ++i) {
        Spec s;
        s.nsp = 2;
        s.N = 2, s.C = uniform(rng, 4, 24), s.K = uniform(rng, 4, 24);
        s.in[0] = uniform(rng, 3, 12), s.in[1] = uniform(rng, 3, 12);
        s.ker[0] = s.ker[1] = uniform(rng, 1, 3);
        s.pad[0] = s.pad[1] = s.ker[0] / 2;
        s.xFmt = s.yFmt = s.wFmt = i % 2 ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.seed = rng();
        harness::Case c(s);
        const convx::Problem p = convx::problemOf(convx::Direction::Forward, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
        CHECK(a->workspaceSize(p) == 0);  // AUTO with a NULL workspace must run it
        std::vector<uint64_t> ws(a->workspaceSize(p) / 8 + 1);
        c.fill();
        const harness::Buffer prior = c.output();
        c.setThreads(1);
        REQUIRE(c.run(h.h, kAlgo, ws.data(), a->workspaceSize(p)) == CONVX_STATUS_SUCCESS);
        const harness::Buffer one = c.output();
        for (int t : {2, 3, 5}) {
            c.output() = prior;
            c.setThreads(t);
            REQUIRE(c.run(h.h, kAlgo, ws.data(), a->workspaceSize(p)) == CONVX_STATUS_SUCCESS);
            std::string detail;
            INFO(c.describe() << " threads " << t);
            CHECK(c.compareWith(one, prior, 0.0, &detail));
        }
    }
}

// ------------------------------------------------------------------ the GPU kernel, emulated

namespace {

// Runs the CUDA kernel's own per-thread code (src/direct_coalesced_tile.h) on the host: block by
// block, each phase between two barriers for every thread in turn, with the plan's shared
// memory as a vector. The accumulator is T (f32, f64), as on the device.
template <class T, int PT, int KT>
void emulateGpu(const convx::Problem& p, const convx::DcGpuPlan& pl, const T* x, const T* w, T* y, double alpha, double beta) {
    const convx::Conv3d g = convx::conv3dOf(p);
    std::vector<T> sw(pl.sharedBytes / sizeof(T));
    std::vector<convx::DcThread<T, T, PT, KT>> th(static_cast<size_t>(pl.threads()));
    for (int64_t blk = 0; blk < pl.blocks; ++blk) {
        const convx::DcBlockTile bt = convx::dcBlockTile(pl, blk);
        for (int t = 0; t < pl.threads(); ++t) th[t].begin(g, pl, bt, t);
        for (int64_t c0 = 0; c0 < g.Cg; c0 += pl.CS) {
            const int64_t cs = std::min(pl.CS, g.Cg - c0);
            for (int t = 0; t < pl.threads(); ++t) convx::dcStageFilter(g, pl, bt, w, sw.data(), c0, cs, t, pl.threads());
            for (int t = 0; t < pl.threads(); ++t) {
                if (pl.variant == convx::DcVariant::Pointwise) th[t].template stage<true>(g, pl, x, sw.data(), c0, cs);
                else th[t].template stage<false>(g, pl, x, sw.data(), c0, cs);
            }
        }
        for (int t = 0; t < pl.threads(); ++t) th[t].store(g, bt, y, T(alpha), T(beta));
    }
}

template <class T>
void emulateGpuTyped(const convx::Problem& p, const convx::DcGpuPlan& pl, const void* x, const void* w, void* y, double alpha,
                     double beta) {
    const T* xt = static_cast<const T*>(x);
    const T* wt = static_cast<const T*>(w);
    T* yt = static_cast<T*>(y);
    if (pl.PT == 1) {
        switch (pl.KT) {
            case 8: return emulateGpu<T, 1, 8>(p, pl, xt, wt, yt, alpha, beta);
            case 4: return emulateGpu<T, 1, 4>(p, pl, xt, wt, yt, alpha, beta);
            case 2: return emulateGpu<T, 1, 2>(p, pl, xt, wt, yt, alpha, beta);
            default: return emulateGpu<T, 1, 1>(p, pl, xt, wt, yt, alpha, beta);
        }
    }
    if (pl.PT == 4) return emulateGpu<T, 4, 1>(p, pl, xt, wt, yt, alpha, beta);
    return emulateGpu<T, 2, 1>(p, pl, xt, wt, yt, alpha, beta);
}

// The emulated kernel against the reference on one spec; smCount shapes the plan.
void checkGpuEmulated(const Spec& s, int smCount) {
    testutil::Handle h;
    harness::Case c(s);
    const convx::Problem p = convx::problemOf(convx::Direction::Forward, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
    INFO(c.describe() << "\n  SMs " << smCount);
    std::string why;
    REQUIRE(convx::dcGpuFits(p, &why));
    const convx::DcGpuPlan pl = convx::planDcGpu(p, smCount);
    INFO("plan PT " << pl.PT << " KT " << pl.KT << " pixThreads " << pl.pixThreads << " kThreads " << pl.kThreads << " CS " << pl.CS
                    << " lanesOverK " << pl.lanesOverK << " pointwise " << (pl.variant == convx::DcVariant::Pointwise));
    c.fill();
    const harness::Buffer prior = c.output();
    REQUIRE(c.run(h.h, CONVX_ALGO_REFERENCE) == CONVX_STATUS_SUCCESS);
    const harness::Buffer reference = c.output();
    c.output() = prior;
    if (s.dt == CONVX_DATA_DOUBLE) emulateGpuTyped<double>(p, pl, c.x.data(), c.w.data(), c.output().data(), s.alpha, s.beta);
    else emulateGpuTyped<float>(p, pl, c.x.data(), c.w.data(), c.output().data(), s.alpha, s.beta);
    std::string detail;
    const bool ok = c.compareWith(reference, prior, harness::algoTolerance(s.dt), &detail);
    INFO(detail);
    CHECK(ok);
}

}  // namespace

TEST_CASE("direct_coalesced gpu kernel emulated on the host: random problems", "[direct_coalesced][gpu-emulation]") {
    std::mt19937_64 rng(1201);
    for (convxDataType_t dt : {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE}) {
        for (int i = 0; i < testutil::scaled(dt == CONVX_DATA_FLOAT ? 40 : 15); ++i) {
            Spec s = harness::randomSpec(rng, Dir::Fwd, dt);
            if (!s.valid()) continue;
            INFO("case " << i);
            checkGpuEmulated(s, uniform(rng, 1, 140));
        }
    }
}

TEST_CASE("direct_coalesced gpu kernel emulated on the host: tiles, lanes, stages", "[direct_coalesced][gpu-emulation]") {
    std::mt19937_64 rng(1202);
    for (int i = 0; i < testutil::scaled(16); ++i) {
        Spec s;
        s.nsp = 2;
        s.N = uniform(rng, 1, 3);
        s.G = uniform(rng, 0, 3) == 0 ? 2 : 1;
        s.C = s.G * uniform(rng, 1, 70);  // up to several shared stages
        s.K = s.G * uniform(rng, 1, 40);  // lanes over K from 16 per group; register tiles with tails
        const int ker = uniform(rng, 0, 2) * 2 + 1;
        for (int d = 0; d < 2; ++d) {
            s.in[d] = uniform(rng, 1, 9);
            s.ker[d] = ker;
            s.pad[d] = uniform(rng, 0, 1) ? ker / 2 : 0;
            s.stride[d] = uniform(rng, 1, 2);
            if (s.out(d) < 1) s.pad[d] = ker;
        }
        s.xFmt = s.yFmt = uniform(rng, 0, 1) ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.wFmt = uniform(rng, 0, 1) ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.mode = uniform(rng, 0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
        s.alpha = 0.75, s.beta = uniform(rng, 0, 1) ? 0.0 : -0.5;
        s.seed = rng();
        // batch 32-like register tiles: pretend to be a small device so KT reaches 8
        checkGpuEmulated(s, uniform(rng, 0, 1) ? 1 : 132);
    }
}
