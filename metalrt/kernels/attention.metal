// Causal grouped-query attention over the KV cache.
//
// Query t of the step sits at position pos = pos0 + t and sees cache rows
// lo..hi: hi = min(pos, kv_len − 1), lo = pos − window + 1 with a sliding
// window (window > 0), else 0. Query head h reads KV head
// h / (heads / kv_heads). C is the cache element type; with half caches the
// query is rounded to half before Q·K, as the CPU path does.
//
// Both kernels walk the visible rows in blocks of 32 with an online
// softmax (a running max m and sum s), every lane adding the block's
// weighted V rows into the head_dim / 32 output elements it owns (element
// lane + 32·d). They differ in how a block is scored: see attn_blocks
// (prefill) and attn_decode_blocks.

// qk_dot is q·k over hd elements, 4 at a time when rows are 4-aligned.
template <typename C>
inline float qk_dot(threadgroup const float *q, device const C *k, int hd) {
    float s = 0.0f;
    if (hd % 4 == 0) {
        for (int e = 0; e < hd; e += 4) {
            s += dot(*(threadgroup const float4 *)(q + e), float4(*(device const vec<C, 4> *)(k + e)));
        }
    } else {
        for (int e = 0; e < hd; e++) {
            s += q[e] * float(k[e]);
        }
    }
    return s;
}

// attn_blocks folds blocks first, first + step, ... (in units of 32 rows)
// of rows lo..hi into one simdgroup's running (m, s, acc): lane j scores
// row b0 + j (a full Q·K dot product), simd_max / simd_sum update m and s.
template <typename C>
inline void attn_blocks(threadgroup const float *q, device const C *kc, device const C *vc, ulong width, ulong kvoff,
                        int hd, float scale, int lo, int hi, int first, int step, ushort lane,
                        thread float &m, thread float &s, thread float *acc) {
    for (int b0 = first * ATTN_BLOCK; b0 <= hi; b0 += step * ATTN_BLOCK) {
        const int j = b0 + lane;
        float score = -INFINITY;
        if (j >= lo && j <= hi) {
            score = qk_dot<C>(q, kc + ulong(j) * width + kvoff, hd) * scale;
        }
        const float bm = simd_max(score);
        if (bm == -INFINITY) {
            continue; // no visible row in this block (uniform over the simdgroup)
        }
        const float mn = max(m, bm);
        const float corr = exp(m - mn); // 0 while m is still −∞
        const float pr = exp(score - mn); // 0 for masked rows
        s = s * corr + simd_sum(pr);
        for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
            acc[d] *= corr;
        }
        const int l0 = max(lo - b0, 0), l1 = min(hi - b0, ATTN_BLOCK - 1);
        for (int l = l0; l <= l1; l++) {
            const float pl = simd_broadcast(pr, ushort(l));
            device const C *vr = vc + ulong(b0 + l) * width + kvoff;
            for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
                const int e = lane + 32 * d;
                if (e < hd) {
                    acc[d] += pl * float(vr[e]);
                }
            }
        }
        m = mn;
    }
}

// qk_lane is this lane's part of q·k: 4-element granules lane, lane + 32,
// ... when rows are 4-aligned, else elements lane, lane + 32, ...; so the
// simdgroup's loads of one K row are contiguous.
template <typename C>
inline float qk_lane(threadgroup const float *q, device const C *k, int hd, ushort lane) {
    float s = 0.0f;
    if (hd % 4 == 0) {
        for (int g = lane; g < hd / 4; g += 32) {
            s += dot(*(threadgroup const float4 *)(q + 4 * g), float4(*(device const vec<C, 4> *)(k + 4 * g)));
        }
    } else {
        for (int e = lane; e < hd; e += 32) {
            s += q[e] * float(k[e]);
        }
    }
    return s;
}

// attn_decode_blocks is attn_blocks for one query per simdgroup with the
// lanes sharing each K row: the simdgroup scores the block's visible rows
// one at a time (qk_lane, reduced by simd_sum), so every lane holds every
// score and computes the block's max and weights itself, with no
// broadcast.
template <typename C>
inline void attn_decode_blocks(threadgroup const float *q, device const C *kc, device const C *vc, ulong width,
                               ulong kvoff, int hd, float scale, int lo, int hi, int first, int step, ushort lane,
                               thread float &m, thread float &s, thread float *acc) {
    for (int b0 = first * ATTN_BLOCK; b0 <= hi; b0 += step * ATTN_BLOCK) {
        const int l0 = max(lo - b0, 0), l1 = min(hi - b0, ATTN_BLOCK - 1);
        float sc[ATTN_BLOCK];
        float bm = -INFINITY;
        for (short l = 0; l < ATTN_BLOCK; l++) { // whole: sc stays in registers
            if (l >= l0 && l <= l1) {
                sc[l] = simd_sum(qk_lane<C>(q, kc + ulong(b0 + l) * width + kvoff, hd, lane)) * scale;
                bm = max(bm, sc[l]);
            }
        }
        if (bm == -INFINITY) {
            continue; // no visible row in this block
        }
        const float mn = max(m, bm);
        const float corr = exp(m - mn); // 0 while m is still −∞
        s *= corr;
        for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
            acc[d] *= corr;
        }
        for (short l = 0; l < ATTN_BLOCK; l++) {
            if (l >= l0 && l <= l1) {
                const float pl = exp(sc[l] - mn);
                s += pl;
                device const C *vr = vc + ulong(b0 + l) * width + kvoff;
                for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
                    const int e = lane + 32 * d;
                    if (e < hd) {
                        acc[d] += pl * float(vr[e]);
                    }
                }
            }
        }
        m = mn;
    }
}

// attn_decode: threadgroup (head, token) of S simdgroups, S from 8 to 16
// growing with the cache's capacity (geometry.go); simdgroup g takes blocks
// g, g+S, ... of the visible rows, so one dispatch splits the KV length S
// ways. The query is staged in threadgroup memory; afterwards the
// same memory holds each simdgroup's (m, s, acc[head_dim]), which are
// merged with the usual rescaling by exp(m_g − max m).
template <typename C>
kernel void attn_decode(
        device const StepParams *step [[buffer(0)]],
        device const float *q [[buffer(1)]],
        device const C *k_cache [[buffer(2)]],
        device const C *v_cache [[buffer(3)]],
        device float *out [[buffer(4)]],
        constant AttnParams &p [[buffer(5)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort3 ntg [[threads_per_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int h = tgpig.x, t = tgpig.y, hd = p.head_dim, nsg = ntg.x / 32;
    const int kvh = h / (p.heads / p.kv_heads);
    const int pos = step->pos0 + t;
    const int hi = min(min(pos, step->kv_len - 1), p.capacity - 1);
    const int lo = p.window > 0 ? max(0, pos - p.window + 1) : 0;
    const ulong width = ulong(p.kv_heads) * hd;
    const ulong qb = (ulong(t) * p.heads + h) * hd;

    for (int e = tiitg; e < hd; e += ntg.x) {
        shm[e] = float(C(q[qb + e]));
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);

    float m = -INFINITY, s = 0.0f;
    float acc[ATTN_MAX_DIM_PER_LANE];
    for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        acc[d] = 0.0f;
    }
    attn_decode_blocks<C>(shm, k_cache, v_cache, width, ulong(kvh) * hd, hd, p.scale, lo, hi,
                          lo / ATTN_BLOCK + sgitg, nsg, tiisg, m, s, acc);
    threadgroup_barrier(mem_flags::mem_threadgroup); // the query is read: its memory takes the partials

    threadgroup float *part = shm + sgitg * (hd + 2);
    if (tiisg == 0) {
        part[0] = m;
        part[1] = s;
    }
    for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        const int e = tiisg + 32 * d;
        if (e < hd) {
            part[2 + e] = acc[d];
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);

    for (int e = tiitg; e < hd; e += ntg.x) {
        float mx = -INFINITY;
        for (short g = 0; g < nsg; g++) {
            mx = max(mx, shm[g * (hd + 2)]);
        }
        float sum = 0.0f, a = 0.0f;
        for (short g = 0; g < nsg; g++) {
            threadgroup const float *pg = shm + g * (hd + 2);
            if (pg[0] == -INFINITY) {
                continue; // this simdgroup saw no row
            }
            const float f = exp(pg[0] - mx);
            sum += pg[1] * f;
            a += pg[2 + e] * f;
        }
        out[qb + e] = sum > 0.0f ? a / sum : 0.0f;
    }
}

// attn_prefill: threadgroup (head, block of 8 queries), one simdgroup per
// query walking every visible block (flash-style; the 8 queries of a
// threadgroup read the same K/V rows at about the same time). Each
// simdgroup stages its query in its own head_dim floats of threadgroup
// memory, so only simdgroup barriers are needed.
template <typename C>
kernel void attn_prefill(
        device const StepParams *step [[buffer(0)]],
        device const float *q [[buffer(1)]],
        device const C *k_cache [[buffer(2)]],
        device const C *v_cache [[buffer(3)]],
        device float *out [[buffer(4)]],
        constant AttnParams &p [[buffer(5)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int h = tgpig.x, t = tgpig.y * ATTN_SIMDGROUPS + sgitg, hd = p.head_dim;
    if (t >= p.n) {
        return; // past the step's last query: the whole simdgroup leaves
    }
    const int kvh = h / (p.heads / p.kv_heads);
    const int pos = step->pos0 + t;
    const int hi = min(min(pos, step->kv_len - 1), p.capacity - 1);
    const int lo = p.window > 0 ? max(0, pos - p.window + 1) : 0;
    const ulong width = ulong(p.kv_heads) * hd;
    const ulong qb = (ulong(t) * p.heads + h) * hd;

    threadgroup float *qs = shm + sgitg * hd;
    for (int e = tiisg; e < hd; e += 32) {
        qs[e] = float(C(q[qb + e]));
    }
    simdgroup_barrier(mem_flags::mem_threadgroup);

    float m = -INFINITY, s = 0.0f;
    float acc[ATTN_MAX_DIM_PER_LANE];
    for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        acc[d] = 0.0f;
    }
    attn_blocks<C>(qs, k_cache, v_cache, width, ulong(kvh) * hd, hd, p.scale, lo, hi,
                   lo / ATTN_BLOCK, 1, tiisg, m, s, acc);
    for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        const int e = tiisg + 32 * d;
        if (e < hd) {
            out[qb + e] = s > 0.0f ? acc[d] / s : 0.0f;
        }
    }
}

// The cache type is in the signature: one function type per cache type.
typedef decltype(attn_decode<float>) attn_decode_f32_t;
typedef decltype(attn_decode<half>) attn_decode_f16_t;
typedef decltype(attn_prefill<float>) attn_prefill_f32_t;
typedef decltype(attn_prefill<half>) attn_prefill_f16_t;

template [[host_name("attn_decode_f32")]] kernel attn_decode_f32_t attn_decode<float>;
template [[host_name("attn_decode_f16")]] kernel attn_decode_f16_t attn_decode<half>;

template [[host_name("attn_prefill_f32")]] kernel attn_prefill_f32_t attn_prefill<float>;
template [[host_name("attn_prefill_f16")]] kernel attn_prefill_f16_t attn_prefill<half>;
