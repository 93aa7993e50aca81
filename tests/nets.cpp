// ResNet-50 and MobileNetV2 as chain layer lists (the torchvision definitions), random weights.
#include "nets.h"

#include <cmath>
#include <stdexcept>

namespace nets {

NetBuilder::NetBuilder(std::string name, uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) { spec_.name = std::move(name); }

float NetBuilder::uniform(float lo, float hi) {
    // splitmix64: the same weights on every platform for a seed.
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * float(double(z >> 11) * (1.0 / 9007199254740992.0));
}

int NetBuilder::push(NetLayer l) {
    spec_.layers.push_back(std::move(l));
    return static_cast<int>(spec_.layers.size()) - 1;
}

int NetBuilder::input(int n, int c, int h, int w) {
    NetLayer l;
    l.kind = Kind::Input;
    l.n = n, l.c = c, l.h = h, l.w = w;
    return push(std::move(l));
}

static int outSize(int in, int k, int stride, int pad, int dil) { return (in + 2 * pad - ((k - 1) * dil + 1)) / stride + 1; }

int NetBuilder::conv(int x, int k, int r, int s, int stride, int pad, int groups, bool bias, int dil) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::Conv;
    l.in = {x};
    l.k = k, l.r = r, l.s = s, l.strideH = l.strideW = stride, l.padH = l.padW = pad, l.dilH = l.dilW = dil, l.groups = groups;
    l.n = a.n, l.c = k, l.h = outSize(a.h, r, stride, pad, dil), l.w = outSize(a.w, s, stride, pad, dil);
    const int fanIn = a.c / groups * r * s;
    const float bound = std::sqrt(6.f / float(fanIn));  // He uniform: activations keep their scale
    l.weight.resize(size_t(k) * (a.c / groups) * r * s);
    for (float& v : l.weight) v = uniform(-bound, bound);
    if (bias) {
        l.bias.resize(k);
        for (float& v : l.bias) v = uniform(-0.1f, 0.1f);
    }
    return push(std::move(l));
}

int NetBuilder::bn(int x) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::BatchNorm;
    l.in = {x};
    l.n = a.n, l.c = a.c, l.h = a.h, l.w = a.w;
    for (int i = 0; i < a.c; ++i) {
        l.mean.push_back(uniform(-0.2f, 0.2f));
        l.var.push_back(uniform(0.5f, 1.5f));
        l.gamma.push_back(uniform(0.5f, 1.0f));
        l.beta.push_back(uniform(-0.2f, 0.2f));
    }
    return push(std::move(l));
}

int NetBuilder::act(int x, convxChainActivation_t m, float param) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::Activation;
    l.in = {x};
    l.n = a.n, l.c = a.c, l.h = a.h, l.w = a.w;
    l.act = m, l.param = param;
    return push(std::move(l));
}

int NetBuilder::pool(int x, convxChainPooling_t mode, int r, int stride, int pad) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::Pooling;
    l.in = {x};
    l.pool = mode;
    l.n = a.n, l.c = a.c;
    if (mode == CONVX_CHAIN_POOL_GLOBAL_AVG || mode == CONVX_CHAIN_POOL_GLOBAL_MAX) {
        l.r = a.h, l.s = a.w, l.h = l.w = 1;
    } else {
        l.r = l.s = r, l.strideH = l.strideW = stride, l.padH = l.padW = pad;
        l.h = outSize(a.h, r, stride, pad, 1), l.w = outSize(a.w, r, stride, pad, 1);
    }
    return push(std::move(l));
}

int NetBuilder::fc(int x, int out, bool bias) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::FullyConnected;
    l.in = {x};
    l.k = out;
    l.n = a.n, l.c = out, l.h = l.w = 1;
    const int fanIn = a.c * a.h * a.w;
    const float bound = 1.f / std::sqrt(float(fanIn));
    l.weight.resize(size_t(out) * fanIn);
    for (float& v : l.weight) v = uniform(-bound, bound);
    if (bias) {
        l.bias.resize(out);
        for (float& v : l.bias) v = uniform(-bound, bound);
    }
    return push(std::move(l));
}

int NetBuilder::add(int x, int y) {
    NetLayer l;
    const NetLayer& a = spec_.layers[x];
    l.kind = Kind::Add;
    l.in = {x, y};
    l.n = a.n, l.c = a.c, l.h = a.h, l.w = a.w;
    return push(std::move(l));
}

int NetBuilder::concat(const std::vector<int>& xs) {
    const NetLayer& a = spec_.layers[xs.at(0)];
    NetLayer l;
    l.kind = Kind::Concat;
    l.in = xs;
    l.n = a.n, l.c = 0, l.h = a.h, l.w = a.w;
    for (int x : xs) l.c += spec_.layers[x].c;
    return push(std::move(l));
}

int NetBuilder::upsample(int x, int sh, int sw) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::Upsample;
    l.in = {x};
    l.scaleH = sh, l.scaleW = sw;
    l.n = a.n, l.c = a.c, l.h = a.h * sh, l.w = a.w * sw;
    return push(std::move(l));
}

int NetBuilder::lrn(int x, int size, float alpha, float beta, float k) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::LRN;
    l.in = {x};
    l.n = a.n, l.c = a.c, l.h = a.h, l.w = a.w;
    l.size = size, l.alpha = alpha, l.lrnBeta = beta, l.lrnK = k;
    return push(std::move(l));
}

int NetBuilder::softmax(int x) {
    const NetLayer& a = spec_.layers[x];
    NetLayer l;
    l.kind = Kind::Softmax;
    l.in = {x};
    l.n = a.n, l.c = a.c, l.h = a.h, l.w = a.w;
    return push(std::move(l));
}

namespace {

int convBn(NetBuilder& b, int x, int k, int r, int stride, int pad, int groups, convxChainActivation_t a, bool withAct) {
    int y = b.bn(b.conv(x, k, r, r, stride, pad, groups));
    return withAct ? b.act(y, a) : y;
}

// torchvision Bottleneck (ResNet v1.5: the stride sits on the 3x3).
int bottleneck(NetBuilder& b, int x, int inC, int width, int stride) {
    const int outC = width * 4;
    int y = convBn(b, x, width, 1, 1, 0, 1, CONVX_CHAIN_RELU, true);
    y = convBn(b, y, width, 3, stride, 1, 1, CONVX_CHAIN_RELU, true);
    y = convBn(b, y, outC, 1, 1, 0, 1, CONVX_CHAIN_RELU, false);
    int id = x;
    if (stride != 1 || inC != outC) id = convBn(b, x, outC, 1, stride, 0, 1, CONVX_CHAIN_RELU, false);
    return b.act(b.add(y, id), CONVX_CHAIN_RELU);
}

}  // namespace

NetSpec resnet50(int batch, int hw, uint64_t seed) {
    NetBuilder b("resnet50", seed);
    int x = b.input(batch, 3, hw, hw);
    x = convBn(b, x, 64, 7, 2, 3, 1, CONVX_CHAIN_RELU, true);
    x = b.pool(x, CONVX_CHAIN_POOL_MAX, 3, 2, 1);
    int inC = 64;
    const int blocks[4] = {3, 4, 6, 3}, widths[4] = {64, 128, 256, 512};
    for (int s = 0; s < 4; ++s)
        for (int i = 0; i < blocks[s]; ++i) {
            x = bottleneck(b, x, inC, widths[s], (i == 0 && s > 0) ? 2 : 1);
            inC = widths[s] * 4;
        }
    x = b.pool(x, CONVX_CHAIN_POOL_GLOBAL_AVG);
    x = b.fc(x, 1000);
    b.output(x);
    return b.take();
}

NetSpec mobilenetv2(int batch, int hw, uint64_t seed) {
    NetBuilder b("mobilenetv2", seed);
    int x = b.input(batch, 3, hw, hw);
    x = convBn(b, x, 32, 3, 2, 1, 1, CONVX_CHAIN_RELU6, true);
    int inC = 32;
    // t (expansion), c (channels), n (repeats), s (first stride)
    const int cfg[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    for (const auto& c : cfg)
        for (int i = 0; i < c[2]; ++i) {
            const int stride = i == 0 ? c[3] : 1, hidden = inC * c[0];
            int y = x;
            if (c[0] != 1) y = convBn(b, y, hidden, 1, 1, 0, 1, CONVX_CHAIN_RELU6, true);
            y = convBn(b, y, hidden, 3, stride, 1, hidden, CONVX_CHAIN_RELU6, true);
            y = convBn(b, y, c[1], 1, 1, 0, 1, CONVX_CHAIN_RELU6, false);
            x = (stride == 1 && inC == c[1]) ? b.add(y, x) : y;
            inC = c[1];
        }
    x = convBn(b, x, 1280, 1, 1, 0, 1, CONVX_CHAIN_RELU6, true);
    x = b.pool(x, CONVX_CHAIN_POOL_GLOBAL_AVG);
    x = b.fc(x, 1000);  // dropout is the identity in eval mode
    b.output(x);
    return b.take();
}

NetSpec byName(const std::string& name, int batch, int hw, uint64_t seed) {
    if (name == "resnet50") return resnet50(batch, hw, seed);
    if (name == "mobilenetv2") return mobilenetv2(batch, hw, seed);
    throw std::invalid_argument("unknown network '" + name + "' (resnet50, mobilenetv2)");
}

convxStatus_t addToChain(const NetSpec& net, convxChain_t chain, std::vector<int>* ids) {
    std::vector<int> id(net.layers.size(), -1);
    for (size_t i = 0; i < net.layers.size(); ++i) {
        const NetLayer& l = net.layers[i];
        auto in = [&](int j) { return id[l.in[j]]; };
        convxStatus_t st = CONVX_STATUS_SUCCESS;
        int* out = &id[i];
        switch (l.kind) {
        case Kind::Input: st = convxChainAddInput(chain, l.n, l.c, l.h, l.w, out); break;
        case Kind::Conv:
            st = convxChainAddConvolution(chain, in(0), l.k, l.r, l.s, l.strideH, l.strideW, l.padH, l.padW, l.dilH, l.dilW, l.groups,
                                          l.weight.data(), l.bias.empty() ? nullptr : l.bias.data(), out);
            break;
        case Kind::BatchNorm:
            st = convxChainAddBatchNorm(chain, in(0), l.mean.data(), l.var.data(), l.gamma.data(), l.beta.data(), l.eps, out);
            break;
        case Kind::Activation: st = convxChainAddActivation(chain, in(0), l.act, l.param, out); break;
        case Kind::Pooling: st = convxChainAddPooling(chain, in(0), l.pool, l.r, l.s, l.strideH, l.strideW, l.padH, l.padW, out); break;
        case Kind::FullyConnected:
            st = convxChainAddFullyConnected(chain, in(0), l.k, l.weight.data(), l.bias.empty() ? nullptr : l.bias.data(), out);
            break;
        case Kind::Add: st = convxChainAddAdd(chain, in(0), in(1), out); break;
        case Kind::Concat: {
            std::vector<int> xs;
            for (int j : l.in) xs.push_back(id[j]);
            st = convxChainAddConcat(chain, xs.data(), static_cast<int>(xs.size()), out);
            break;
        }
        case Kind::Upsample: st = convxChainAddUpsample(chain, in(0), l.scaleH, l.scaleW, out); break;
        case Kind::LRN: st = convxChainAddLRN(chain, in(0), l.size, l.alpha, l.lrnBeta, l.lrnK, out); break;
        case Kind::Softmax: st = convxChainAddSoftmax(chain, in(0), out); break;
        }
        if (st != CONVX_STATUS_SUCCESS) return st;
    }
    for (int o : net.outputs) {
        const convxStatus_t st = convxChainMarkOutput(chain, id[o]);
        if (st != CONVX_STATUS_SUCCESS) return st;
    }
    if (ids) *ids = id;
    return CONVX_STATUS_SUCCESS;
}

}  // namespace nets
