// Buffer planning of a lowered chain: every step's element strides (concat slices, upsample
// phases, broadcast z), liveness intervals of the workspace storages, first-fit offsets, the
// engine workspace, and the packed parameter block.
#include <algorithm>
#include <numeric>

#include "chain.h"
#include "error.h"

namespace convx {

namespace {
constexpr size_t kAlign = 256;
size_t alignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
}  // namespace

int Chain::root(int v) const {
    while (values_[v].alias >= 0) v = values_[v].alias;
    return v;
}

int64_t Chain::rootChannelOffset(int v) const {
    int64_t off = 0;
    while (values_[v].alias >= 0) off += values_[v].chanOff, v = values_[v].alias;
    return off;
}

Strides Chain::stridesOf(int v) const {
    const Shape4 s = values_[root(v)].s;
    return packedStrides(layout_, 2, s.n, s.c, Dims{s.h, s.w, 1});
}

void Chain::plan() {
    // Strides of every step inside the storages its operands live in.
    for (Step& st : steps_) {
        Problem& p = st.gp.conv;
        p.xStrides = stridesOf(st.x);
        Strides ys = stridesOf(st.y);
        ys[2] *= st.yStep[0];
        ys[3] *= st.yStep[1];
        p.yStrides = ys;
        st.gp.zStrides = Strides{};
        if (st.z >= 0) {
            Strides zs = stridesOf(st.z);
            if (values_[st.z].s.c == 1 && p.K > 1) zs[1] = 0;  // broadcast over channels
            st.gp.zStrides = zs;
        }
    }
    // Liveness of the roots, in step indices.
    for (Value& v : values_) v.first = v.last = -1, v.slot = -1, v.offset = 0, v.bytes = 0;
    auto touch = [&](int v, int64_t i) {
        Value& r = values_[root(v)];
        if (r.first < 0) r.first = i;
        r.last = std::max(r.last, i);
    };
    for (size_t i = 0; i < steps_.size(); ++i) {
        touch(steps_[i].x, int64_t(i));
        if (steps_[i].z >= 0) touch(steps_[i].z, int64_t(i));
        touch(steps_[i].y, int64_t(i));
    }
    // First fit, biggest first: a storage may share bytes only with storages whose live
    // intervals do not meet.
    std::vector<int> st;
    for (size_t v = 0; v < values_.size(); ++v) {
        Value& r = values_[v];
        if (r.alias >= 0 || r.input >= 0 || r.output >= 0 || r.first < 0) continue;
        r.bytes = alignUp(size_t(r.s.elems()) * sizeof(float));
        st.push_back(static_cast<int>(v));
    }
    std::stable_sort(st.begin(), st.end(), [&](int a, int b) { return values_[a].bytes > values_[b].bytes; });
    std::vector<int> placed;
    size_t top = 0;
    int64_t slot = 0;
    for (int v : st) {
        Value& r = values_[v];
        std::vector<std::pair<size_t, size_t>> busy;
        for (int u : placed) {
            const Value& q = values_[u];
            if (q.first <= r.last && r.first <= q.last) busy.push_back({q.offset, q.offset + q.bytes});
        }
        std::sort(busy.begin(), busy.end());
        size_t off = 0;
        for (const auto& b : busy) {
            if (off + r.bytes <= b.first) break;
            off = std::max(off, b.second);
        }
        r.offset = off;
        r.slot = slot++;
        placed.push_back(v);
        top = std::max(top, off + r.bytes);
    }
    interBytes_ = top;
    size_t eng = 0;
    for (const Step& s : steps_) eng = std::max(eng, gconvWorkspaceSize(*h_, s.gp));
    engineBytes_ = eng ? alignUp(eng) : 0;
}

void Chain::checkPlan() const {
    std::vector<int> slots;
    for (size_t v = 0; v < values_.size(); ++v)
        if (values_[v].slot >= 0) slots.push_back(static_cast<int>(v));
    for (size_t i = 0; i < slots.size(); ++i)
        for (size_t j = i + 1; j < slots.size(); ++j) {
            const Value& a = values_[slots[i]];
            const Value& b = values_[slots[j]];
            const bool live = a.first <= b.last && b.first <= a.last;
            const bool share = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
            if (live && share)
                fail(CONVX_STATUS_INTERNAL_ERROR, "chain plan: values %d and %d are live together at the same bytes", slots[i], slots[j]);
            if (a.offset + a.bytes > interBytes_ || b.offset + b.bytes > interBytes_)
                fail(CONVX_STATUS_INTERNAL_ERROR, "chain plan: a storage passes the intermediates' size");
        }
    std::vector<char> written(values_.size(), 0);
    for (size_t v = 0; v < values_.size(); ++v)
        if (values_[v].input >= 0) written[v] = 1;
    for (size_t i = 0; i < steps_.size(); ++i) {
        const Step& s = steps_[i];
        for (int v : {s.x, s.z}) {
            if (v < 0) continue;
            if (!written[root(v)])
                fail(CONVX_STATUS_INTERNAL_ERROR, "chain plan: step %zu reads value %d before any step wrote it", i, v);
        }
        written[root(s.y)] = 1;
    }
}

void Chain::packParameters() {
    params_.clear();
    auto put = [&](const std::vector<float>& v) -> int64_t {
        if (v.empty()) return -1;
        const int64_t off = static_cast<int64_t>(params_.size());
        params_.insert(params_.end(), v.begin(), v.end());
        params_.resize((params_.size() + 15) / 16 * 16, 0.f);  // 64-byte aligned arrays
        return off;
    };
    for (Step& s : steps_) {
        const std::vector<float>* w = s.wLayer >= 0 ? &layers_[s.wLayer].w : s.wOwn.empty() ? nullptr : &s.wOwn;
        if (w) {
            const Problem& p = s.gp.conv;
            const int64_t K = p.K, Cg = p.Cg(), R = p.ker[0], S = p.ker[1];
            if (layout_ == Layout::NHWC && Cg > 1 && R * S > 1) {
                // OIHW -> K x R x S x C/G, the filter layout of an NHWC problem.
                std::vector<float> t(w->size());
                for (int64_t k = 0; k < K; ++k)
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int64_t rs = 0; rs < R * S; ++rs) t[(k * R * S + rs) * Cg + c] = (*w)[(k * Cg + c) * R * S + rs];
                s.wOff = put(t);
            } else {
                s.wOff = put(*w);
            }
        }
        s.preScaleOff = put(s.preScale), s.preShiftOff = put(s.preShift);
        s.postScaleOff = put(s.postScale), s.postShiftOff = put(s.postShift);
        if (!s.gp.ops.postAffine) s.postScaleOff = s.postShiftOff = -1;
    }
    if (h_->backend == CONVX_BACKEND_CUDA && !params_.empty()) {
        devParams_ = backendAlloc(*h_, params_.size() * sizeof(float));
        backendUpload(*h_, devParams_, params_.data(), params_.size() * sizeof(float));
        params_.clear();
        params_.shrink_to_fit();
    }
    // The steps read the packed copy only.
    for (Layer& l : layers_) l.w.clear(), l.w.shrink_to_fit();
}

}  // namespace convx
