// Causal grouped-query attention over the KV cache.
//
// Query t of the step sits at position pos = pos0 + t and sees cache rows
// lo..hi: hi = min(pos, kv_len − 1), lo = pos − window + 1 with a sliding
// window (window > 0), else 0. Query head h reads KV head
// h / (heads / kv_heads). C is the cache element type; with half caches the
// query is rounded to half before Q·K, as the CPU path does.
//
// Both walk the visible rows with an online softmax (a running max m and
// sum s). Prefill scores a block of 32 rows a lane each (attn_blocks);
// decode splits the rows into chunks across threadgroups and has the lanes
// share each row (attn_decode).

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

// ---- decode: split-K (flash-decoding) over GQA groups ----
//
// attn_decode runs threadgroup (chunk, KV head and block of its query
// heads, token): each K and V row of the chunk is loaded once, by one
// simdgroup whose lanes read it contiguously, and used by every query head
// of the block (up to ATTN_GROUP). A context that fits one chunk is
// written straight to out; otherwise each chunk leaves its max, sum and
// unnormalised output in the scratch buffer and attn_decode_reduce, the
// next dispatch, combines them.

#define ATTN_DECODE_SIMDGROUPS 4 // per decode threadgroup; they take turns over the chunk's rows
#define ATTN_GROUP 4             // query heads one decode threadgroup serves (Mistral's GQA 4:1)
#define ATTN_CHUNK 128           // fewest cache rows a decode chunk holds
#define ATTN_MAX_CHUNKS 32       // most chunks per query head; longer contexts lengthen them
#define ATTN_LANE_DIMS 8         // a lane's elements of a row: 4-element granules lane, lane + 32

// attn_partitions is how many chunks the launch provides per query head
// and token, and the stride of the scratch records.
inline int attn_partitions(int capacity) {
    return min((capacity + ATTN_CHUNK - 1) / ATTN_CHUNK, ATTN_MAX_CHUNKS);
}

// AttnSplit cuts query t's visible rows lo..hi into chunks of chunk rows
// (a multiple of ATTN_BLOCK): as few chunks as ATTN_CHUNK allows, at most
// attn_partitions. Both decode kernels compute it from the step.
struct AttnSplit {
    int lo, hi, chunk, chunks;
};

inline AttnSplit attn_split(device const StepParams *step, constant AttnParams &p, int t) {
    const int pos = step->pos0 + t;
    AttnSplit sp;
    sp.hi = min(min(pos, step->kv_len - 1), p.capacity - 1);
    sp.lo = p.window > 0 ? max(0, pos - p.window + 1) : 0;
    const int rows = max(sp.hi - sp.lo + 1, 0);
    const int per = ATTN_BLOCK * attn_partitions(p.capacity);
    sp.chunk = max(ATTN_CHUNK, (rows + per - 1) / per * ATTN_BLOCK);
    sp.chunks = (rows + sp.chunk - 1) / sp.chunk;
    return sp;
}

// The scratch buffer holds, per (token, query head, chunk) record, a
// float2 (max, sum) in a first array and head_dim partial outputs in a
// second that starts at attn_partial_offset.
inline ulong attn_record(constant AttnParams &p, int t, int h) {
    return (ulong(t) * p.heads + h) * attn_partitions(p.capacity);
}

inline ulong attn_partial_offset(constant AttnParams &p) {
    return 2 * attn_record(p, p.n, 0);
}

// attn_lane_row loads this lane's elements of a row, granules lane and
// lane + 32 (4 elements each), zero past head_dim.
template <typename C>
inline void attn_lane_row(device const C *row, int hd, ushort lane, thread float *x) {
    for (short i = 0; i < ATTN_LANE_DIMS / 4; i++) {
        const int e = 4 * (lane + 32 * i);
        if (hd % 4 == 0 && e < hd) {
            const float4 v = float4(*(device const vec<C, 4> *)(row + e));
            x[4 * i] = v.x;
            x[4 * i + 1] = v.y;
            x[4 * i + 2] = v.z;
            x[4 * i + 3] = v.w;
        } else {
            for (short j = 0; j < 4; j++) {
                x[4 * i + j] = e + j < hd ? float(row[e + j]) : 0.0f;
            }
        }
    }
}

template <typename C>
kernel void attn_decode(
        device const StepParams *step [[buffer(0)]],
        device const float *q [[buffer(1)]],
        device const C *k_cache [[buffer(2)]],
        device const C *v_cache [[buffer(3)]],
        device float *out [[buffer(4)]],
        constant AttnParams &p [[buffer(5)]],
        device float *scratch [[buffer(6)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int c = tgpig.x, t = tgpig.z, hd = p.head_dim;
    const AttnSplit sp = attn_split(step, p, t);
    if (c >= max(sp.chunks, 1)) {
        return; // past the visible rows: the whole threadgroup leaves (chunk 0 stays to write zeros)
    }
    const int group = p.heads / p.kv_heads, blocks = (group + ATTN_GROUP - 1) / ATTN_GROUP;
    const int kvh = tgpig.y / blocks, first = tgpig.y % blocks * ATTN_GROUP;
    const int h0 = kvh * group + first, nh = min(ATTN_GROUP, group - first);
    const ulong width = ulong(p.kv_heads) * hd, kvoff = ulong(kvh) * hd;

    // The block's queries (consecutive heads) are staged once for all
    // simdgroups, then each lane keeps its elements in registers.
    threadgroup float *qs = shm;
    for (int x = tiitg; x < nh * hd; x += 32 * ATTN_DECODE_SIMDGROUPS) {
        qs[x] = float(C(q[(ulong(t) * p.heads + h0) * hd + x]));
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float qr[ATTN_GROUP][ATTN_LANE_DIMS], acc[ATTN_GROUP][ATTN_LANE_DIMS], m[ATTN_GROUP], s[ATTN_GROUP];
    for (short g = 0; g < ATTN_GROUP; g++) {
        for (short i = 0; i < ATTN_LANE_DIMS; i++) {
            const int e = 4 * (tiisg + 32 * (i / 4)) + i % 4;
            qr[g][i] = g < nh && e < hd ? qs[g * hd + e] : 0.0f;
            acc[g][i] = 0.0f;
        }
        m[g] = -INFINITY;
        s[g] = 0.0f;
    }

    // Online softmax, one row at a time: the scores are simdgroup-uniform,
    // so are the branches on them.
    const int r0 = sp.lo + c * sp.chunk, r1 = min(r0 + sp.chunk - 1, sp.hi);
    float kr[ATTN_LANE_DIMS], vr[ATTN_LANE_DIMS], pr[ATTN_GROUP];
    for (int r = r0 + sgitg; r <= r1; r += ATTN_DECODE_SIMDGROUPS) {
        attn_lane_row<C>(k_cache + ulong(r) * width + kvoff, hd, tiisg, kr);
        for (short g = 0; g < ATTN_GROUP; g++) {
            pr[g] = 0.0f;
            if (g < nh) {
                float d = 0.0f;
                for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                    d += qr[g][i] * kr[i];
                }
                const float sc = simd_sum(d) * p.scale;
                if (sc > m[g]) {
                    const float corr = exp(m[g] - sc); // 0 while m is still −∞
                    s[g] *= corr;
                    for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                        acc[g][i] *= corr;
                    }
                    m[g] = sc;
                }
                pr[g] = exp(sc - m[g]);
                s[g] += pr[g];
            }
        }
        attn_lane_row<C>(v_cache + ulong(r) * width + kvoff, hd, tiisg, vr);
        for (short g = 0; g < ATTN_GROUP; g++) {
            for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                acc[g][i] += pr[g] * vr[i];
            }
        }
    }

    // Merge the simdgroups through threadgroup memory after the queries:
    // (m, s) pairs, then head_dim partial outputs, per simdgroup and query
    // head.
    threadgroup float *ms = qs + ATTN_GROUP * hd, *part = ms + 2 * ATTN_DECODE_SIMDGROUPS * ATTN_GROUP;
    for (short g = 0; g < ATTN_GROUP; g++) {
        const int rec = sgitg * ATTN_GROUP + g;
        if (tiisg == 0) {
            ms[2 * rec] = m[g];
            ms[2 * rec + 1] = s[g];
        }
        for (short i = 0; i < ATTN_LANE_DIMS; i++) {
            const int e = 4 * (tiisg + 32 * (i / 4)) + i % 4;
            if (e < hd) {
                part[rec * hd + e] = acc[g][i];
            }
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);

    for (int x = tiitg; x < nh * hd; x += 32 * ATTN_DECODE_SIMDGROUPS) {
        const int g = x / hd, e = x % hd;
        float mx = -INFINITY;
        for (short sg = 0; sg < ATTN_DECODE_SIMDGROUPS; sg++) {
            mx = max(mx, ms[2 * (sg * ATTN_GROUP + g)]);
        }
        float sum = 0.0f, a = 0.0f;
        for (short sg = 0; sg < ATTN_DECODE_SIMDGROUPS; sg++) {
            const int rec = sg * ATTN_GROUP + g;
            if (ms[2 * rec] == -INFINITY) {
                continue; // this simdgroup saw no row
            }
            const float f = exp(ms[2 * rec] - mx);
            sum += ms[2 * rec + 1] * f;
            a += part[rec * hd + e] * f;
        }
        const int h = h0 + g;
        if (sp.chunks <= 1) {
            out[(ulong(t) * p.heads + h) * hd + e] = sum > 0.0f ? a / sum : 0.0f;
            continue;
        }
        const ulong rec = attn_record(p, t, h) + c;
        if (e == 0) {
            scratch[2 * rec] = mx;
            scratch[2 * rec + 1] = sum;
        }
        scratch[attn_partial_offset(p) + rec * hd + e] = a;
    }
}

// attn_decode_reduce: threadgroup (query head, token), one simdgroup,
// after attn_decode: lane c reads chunk c's (max, sum), so the maximum and
// the rescaled sum are one simd_max and one simd_sum; then every lane
// combines the chunks' partial outputs for its elements lane + 32·d.
kernel void attn_decode_reduce(
        device const StepParams *step [[buffer(0)]],
        device float *out [[buffer(4)]],
        constant AttnParams &p [[buffer(5)]],
        device const float *scratch [[buffer(6)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int h = tgpig.x, t = tgpig.y, hd = p.head_dim;
    const AttnSplit sp = attn_split(step, p, t);
    if (sp.chunks <= 1) {
        return; // attn_decode wrote this output itself
    }
    const ulong rec = attn_record(p, t, h);
    float mc = -INFINITY, sc = 0.0f;
    if (tiisg < sp.chunks) {
        const float2 v = *(device const float2 *)(scratch + 2 * (rec + tiisg));
        mc = v.x;
        sc = v.y;
    }
    const float mx = simd_max(mc);
    const float f = tiisg < sp.chunks ? exp(mc - mx) : 0.0f;
    const float sum = simd_sum(sc * f);

    float a[ATTN_MAX_DIM_PER_LANE];
    for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        a[d] = 0.0f;
    }
    device const float *part = scratch + attn_partial_offset(p) + rec * hd;
    for (int c = 0; c < sp.chunks; c++) {
        const float fc = simd_broadcast(f, ushort(c));
        for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
            const int e = tiisg + 32 * d;
            if (e < hd) {
                a[d] += part[c * hd + e] * fc;
            }
        }
    }
    for (short d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        const int e = tiisg + 32 * d;
        if (e < hd) {
            out[(ulong(t) * p.heads + h) * hd + e] = a[d] / sum;
        }
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
