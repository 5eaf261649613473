// Causal grouped-query attention over the KV cache.
//
// Query t of the step sits at position pos = pos0 + t and sees cache rows
// lo..hi: hi = min(pos, kv_len − 1), lo = pos − window + 1 with a sliding
// window (window > 0), else 0. Query head h reads KV head
// h / (heads / kv_heads). C is the cache element type; with half caches the
// query is rounded to half before Q·K, as the CPU path does.
//
// Both walk the visible rows with an online softmax (a running max m and
// sum s). Decode splits the rows into chunks across threadgroups, each
// serving every token of the step, and has the lanes share each row
// (attn_decode); prefill multiplies tiles of queries and cache rows on
// simdgroup matrices (attn_prefill).

// AttnRows is the cache rows lo..hi query t of the step sees.
struct AttnRows {
    int lo, hi;
};

inline AttnRows attn_rows(int pos0, int kv_len, constant AttnParams &p, int t) {
    const int pos = pos0 + t;
    AttnRows r;
    r.hi = min(min(pos, kv_len - 1), p.capacity - 1);
    r.lo = p.window > 0 ? max(0, pos - p.window + 1) : 0;
    return r;
}

inline AttnRows attn_rows(device const StepParams *step, constant AttnParams &p, int t) {
    return attn_rows(step->pos0, step->kv_len, p, t);
}

// ---- decode: split-K (flash-decoding) over GQA groups ----
//
// attn_decode runs threadgroup (chunk, KV head and block of its query
// heads) for every token of the step (N ≤ ATTN_DECODE_MAX_N, a
// verification step's): the threads stage each block of the chunk's K and
// V rows in threadgroup memory once, and each simdgroup walks them for its
// query rows (token, head of the block), token t only over the rows it
// sees. The chunks cut the rows the step's tokens see together, so they
// line up for every token. A context that fits one chunk is written
// straight to out; otherwise each chunk leaves its max, sum and
// unnormalised output per query row in the scratch buffer and
// attn_decode_reduce, the next dispatch, combines them.

#define ATTN_DECODE_SIMDGROUPS 4 // per decode threadgroup; each owns every 4th query row
#define ATTN_GROUP 4             // query heads one decode threadgroup serves (Mistral's GQA 4:1)
#define ATTN_DECODE_MAX_N 8      // tokens one decode threadgroup serves (instances for N = 1..8)
#define ATTN_DECODE_STAGE 16     // cache rows staged per block
#define ATTN_CHUNK 128           // fewest cache rows a decode chunk holds
#define ATTN_MAX_CHUNKS 32       // most chunks per query head; longer contexts lengthen them
#define ATTN_LANE_DIMS 8         // a lane's elements of a row: 4-element granules lane, lane + 32

// attn_partitions is how many chunks the launch provides per query head
// and token, and the stride of the scratch records.
inline int attn_partitions(int capacity) {
    return min((capacity + ATTN_CHUNK - 1) / ATTN_CHUNK, ATTN_MAX_CHUNKS);
}

// AttnSplit cuts the rows lo..hi the step's tokens see, from the first
// token's lo to the last one's hi, into chunks of chunk rows (a multiple
// of ATTN_BLOCK): as few chunks as ATTN_CHUNK allows, at most
// attn_partitions. Both decode kernels compute it from the step.
struct AttnSplit {
    int lo, hi, chunk, chunks;
};

inline AttnSplit attn_split(int pos0, int kv_len, constant AttnParams &p) {
    AttnSplit sp;
    sp.lo = attn_rows(pos0, kv_len, p, 0).lo;
    sp.hi = attn_rows(pos0, kv_len, p, p.n - 1).hi;
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

// attn_lane_elem is the row element a lane holds at i of its
// ATTN_LANE_DIMS: granules lane and lane + 32, 4 elements each, so that a
// simdgroup's lanes read a row contiguously.
inline int attn_lane_elem(ushort lane, short i) {
    return 4 * (lane + 32 * (i / 4)) + i % 4;
}

// attn_stage copies cache rows b0..b0 + ATTN_DECODE_STAGE − 1 of one KV
// head (zeros past last) into sh, row after row of hd elements.
template <typename C>
inline void attn_stage(device const C *cache, ulong width, ulong kvoff, int b0, int last, int hd,
                       threadgroup C *sh, ushort tiitg) {
    const int threads = 32 * ATTN_DECODE_SIMDGROUPS;
    if (hd % 4 == 0) {
        for (int x = tiitg; x < ATTN_DECODE_STAGE * hd / 4; x += threads) {
            const int b = 4 * x / hd, e = 4 * x % hd;
            vec<C, 4> v(C(0), C(0), C(0), C(0));
            if (b0 + b <= last) {
                v = *(device const vec<C, 4> *)(cache + ulong(b0 + b) * width + kvoff + e);
            }
            *(threadgroup vec<C, 4> *)(sh + 4 * x) = v;
        }
        return;
    }
    for (int x = tiitg; x < ATTN_DECODE_STAGE * hd; x += threads) {
        const int b = x / hd, e = x % hd;
        sh[x] = b0 + b <= last ? cache[ulong(b0 + b) * width + kvoff + e] : C(0);
    }
}

// An instance per token count NT sizes each lane's query rows, so N = 1
// keeps one row's registers.
template <typename C, short NT>
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
    // The step is read once: every query row's limits come from it.
    const int c = tgpig.x, hd = p.head_dim, pos0 = step->pos0, kv_len = step->kv_len;
    const AttnSplit sp = attn_split(pos0, kv_len, p);
    if (c >= max(sp.chunks, 1)) {
        return; // past the visible rows: the whole threadgroup leaves (chunk 0 stays to write zeros)
    }
    const int group = p.heads / p.kv_heads, blocks = (group + ATTN_GROUP - 1) / ATTN_GROUP;
    const int kvh = tgpig.y / blocks, first = tgpig.y % blocks * ATTN_GROUP;
    const int h0 = kvh * group + first, nh = min(ATTN_GROUP, group - first);
    const ulong width = ulong(p.kv_heads) * hd, kvoff = ulong(kvh) * hd;

    // Query row j of this simdgroup is row sgitg + 4j of the threadgroup's
    // n × nh, token major; each lane keeps its elements of the query.
    constexpr short qrows = (ATTN_GROUP * NT + ATTN_DECODE_SIMDGROUPS - 1) / ATTN_DECODE_SIMDGROUPS;
    float qr[qrows][ATTN_LANE_DIMS], acc[qrows][ATTN_LANE_DIMS];
    float m[qrows], s[qrows];
    int lo[qrows], hi[qrows];
    const int nj = (p.n * nh - sgitg + ATTN_DECODE_SIMDGROUPS - 1) / ATTN_DECODE_SIMDGROUPS;
    for (short j = 0; j < qrows; j++) {
        const int row = sgitg + ATTN_DECODE_SIMDGROUPS * j, t = min(row / nh, p.n - 1);
        const AttnRows v = attn_rows(pos0, kv_len, p, t);
        lo[j] = v.lo;
        hi[j] = v.hi;
        device const float *qt = q + (ulong(t) * p.heads + h0 + row % nh) * hd;
        for (short i = 0; i < ATTN_LANE_DIMS; i += 4) {
            const int e = attn_lane_elem(tiisg, i);
            if (j < nj && hd % 4 == 0 && e < hd) {
                const float4 x = float4(vec<C, 4>(*(device const float4 *)(qt + e)));
                qr[j][i] = x.x;
                qr[j][i + 1] = x.y;
                qr[j][i + 2] = x.z;
                qr[j][i + 3] = x.w;
            } else {
                for (short k = 0; k < 4; k++) {
                    qr[j][i + k] = j < nj && e + k < hd ? float(C(qt[e + k])) : 0.0f;
                }
            }
            for (short k = 0; k < 4; k++) {
                acc[j][i + k] = 0.0f;
            }
        }
        m[j] = -INFINITY;
        s[j] = 0.0f;
    }

    // Online softmax over the staged rows: a row's score is
    // simdgroup-uniform, so are the branches on it.
    threadgroup C *shk = (threadgroup C *)shm, *shv = shk + ATTN_DECODE_STAGE * hd;
    const int r0 = sp.lo + c * sp.chunk, r1 = min(r0 + sp.chunk - 1, sp.hi);
    for (int b0 = r0; b0 <= r1; b0 += ATTN_DECODE_STAGE) {
        threadgroup_barrier(mem_flags::mem_threadgroup); // the last block is read
        attn_stage<C>(k_cache, width, kvoff, b0, r1, hd, shk, tiitg);
        attn_stage<C>(v_cache, width, kvoff, b0, r1, hd, shv, tiitg);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int b = 0; b < ATTN_DECODE_STAGE && b0 + b <= r1; b++) {
            const int r = b0 + b;
            float kr[ATTN_LANE_DIMS], vr[ATTN_LANE_DIMS];
            for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                const int e = attn_lane_elem(tiisg, i);
                kr[i] = e < hd ? float(shk[b * hd + e]) : 0.0f;
                vr[i] = e < hd ? float(shv[b * hd + e]) : 0.0f;
            }
            for (short j = 0; j < qrows && j < nj; j++) {
                if (r < lo[j] || r > hi[j]) {
                    continue; // outside this token's causal limit or window
                }
                float d = 0.0f;
                for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                    d += qr[j][i] * kr[i];
                }
                const float sc = simd_sum(d) * p.scale;
                if (sc > m[j]) {
                    const float corr = exp(m[j] - sc); // 0 while m is still −∞
                    s[j] *= corr;
                    for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                        acc[j][i] *= corr;
                    }
                    m[j] = sc;
                }
                const float pr = exp(sc - m[j]);
                s[j] += pr;
                for (short i = 0; i < ATTN_LANE_DIMS; i++) {
                    acc[j][i] += pr * vr[i];
                }
            }
        }
    }

    for (short j = 0; j < qrows && j < nj; j++) {
        const int row = sgitg + ATTN_DECODE_SIMDGROUPS * j;
        const int t = row / nh, h = h0 + row % nh;
        const ulong rec = attn_record(p, t, h) + c;
        if (sp.chunks > 1 && tiisg == 0) {
            *(device float2 *)(scratch + 2 * rec) = float2(m[j], s[j]);
        }
        for (short i = 0; i < ATTN_LANE_DIMS; i++) {
            const int e = attn_lane_elem(tiisg, i);
            if (e >= hd) {
                continue;
            }
            if (sp.chunks <= 1) {
                out[(ulong(t) * p.heads + h) * hd + e] = s[j] > 0.0f ? acc[j][i] / s[j] : 0.0f;
            } else {
                scratch[attn_partial_offset(p) + rec * hd + e] = acc[j][i];
            }
        }
    }
}

// attn_decode_reduce: threadgroup (query head, token), one simdgroup,
// after attn_decode: lane c reads chunk c's (max, sum), so the maximum and
// the rescaled sum are one simd_max and one simd_sum (a chunk the token
// sees none of holds (−∞, 0)); then every lane combines the chunks'
// partial outputs for its elements lane + 32·d.
kernel void attn_decode_reduce(
        device const StepParams *step [[buffer(0)]],
        device float *out [[buffer(4)]],
        constant AttnParams &p [[buffer(5)]],
        device const float *scratch [[buffer(6)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int h = tgpig.x, t = tgpig.y, hd = p.head_dim;
    const AttnSplit sp = attn_split(step->pos0, step->kv_len, p);
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
    const float f = mc > -INFINITY ? exp(mc - mx) : 0.0f;
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
            out[(ulong(t) * p.heads + h) * hd + e] = sum > 0.0f ? a[d] / sum : 0.0f;
        }
    }
}

// ---- prefill and verification: query tiles on simdgroup matrices ----
//
// attn_prefill runs threadgroup (tile, KV head). A tile is 32 consecutive
// rows (token, query head) of the KV head's group, token major: all of a
// verification step's at GQA 4:1 and N ≤ 8, several tokens of a prefill.
// The cache rows the tile sees are staged in blocks of kc rows, K and V
// once each for all its rows. Simdgroup s owns rows 8s..8s+7 and keeps
// their queries (as Qᵀ) and outputs O in 8×8 simdgroup matrices; per block
// it computes the scores Sᵀ = K·Qᵀ, an online softmax per row (four lanes
// each) that leaves the probabilities P and the row's rescale factor corr,
// and then O = diag(corr)·O + P·V. head_dim is padded to hdp, a multiple
// of 8, with zeros in Q and K; the matrix arrays are sized for 256, since
// head_dim is a parameter, and the loops over them guarded.

#define ATTN_PREFILL_SIMDGROUPS 4
#define ATTN_PREFILL_ROWS 32    // query rows per threadgroup, 8 per simdgroup
#define ATTN_PREFILL_BLOCK 32   // most cache rows per block
#define ATTN_PREFILL_TILE 12288 // bytes of threadgroup memory for a block of K, as many for V
#define ATTN_PREFILL_SLICES 32  // 8-column slices of a head of at most 256

// attn_prefill_block is kc, the cache rows per block: as many as a tile
// holds of hdp elements of elem bytes, a multiple of 8 (8..32 for head_dim
// up to 256).
inline int attn_prefill_block(int hdp, int elem) {
    return min(ATTN_PREFILL_BLOCK, ATTN_PREFILL_TILE / (hdp * elem) / 8 * 8);
}

// attn_prefill_stage copies cache rows b0..b0 + kc − 1 of one KV head into
// tile[kc][hdp], 4 elements per thread and step, with zeros past row last
// and past head_dim.
template <typename C>
inline void attn_prefill_stage(device const C *cache, ulong width, int hd, int hdp, int kc, int b0, int last,
                               threadgroup C *tile, ushort tiitg) {
    for (int x = 4 * tiitg; x < kc * hdp; x += 4 * 32 * ATTN_PREFILL_SIMDGROUPS) {
        const int j = x / hdp, e = x % hdp;
        if (b0 + j > last) {
            *(threadgroup vec<C, 4> *)(tile + x) = vec<C, 4>(C(0), C(0), C(0), C(0));
            continue;
        }
        device const C *row = cache + ulong(b0 + j) * width + e;
        if (hd % 4 == 0 && e < hd) {
            *(threadgroup vec<C, 4> *)(tile + x) = *(device const vec<C, 4> *)row;
        } else {
            for (short i = 0; i < 4; i++) {
                tile[x + i] = e + i < hd ? row[i] : C(0);
            }
        }
    }
}

// attn_prefill_q is where query row r (token r / group, head group·kvh +
// r % group) starts in q and out.
inline ulong attn_prefill_q(constant AttnParams &p, int kvh, int group, int r) {
    return (ulong(r / group) * p.heads + kvh * group + r % group) * p.head_dim;
}

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
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int kvh = tgpig.y, hd = p.head_dim, hdp = (hd + 7) / 8 * 8, nk = hdp / 8;
    const int group = p.heads / p.kv_heads, rows = p.n * group;
    const int kc = attn_prefill_block(hdp, sizeof(C));
    const ulong width = ulong(p.kv_heads) * hd, kvoff = ulong(kvh) * hd;
    // The tile's rows r0..r1 and the simdgroup's s0..s1 (none when s0 > s1).
    const int r0 = tgpig.x * ATTN_PREFILL_ROWS, r1 = min(r0 + ATTN_PREFILL_ROWS, rows) - 1;
    const int s0 = r0 + 8 * sgitg, s1 = min(s0 + 7, r1);

    // Threadgroup memory: the K and V tiles [kc][hdp], then per simdgroup
    // the scores and probabilities [8][kc], diag(corr) [8][8] and a float
    // per lane to combine a row's lanes.
    threadgroup C *kt = (threadgroup C *)shm, *vt = kt + kc * hdp;
    threadgroup float *ps = (threadgroup float *)(vt + kc * hdp) + sgitg * (8 * kc + 96), *dg = ps + 8 * kc, *mx = dg + 64;
    for (int x = tiisg; x < 64; x += 32) {
        dg[x] = 0.0f;
    }

    // The queries, rounded to the cache type as the CPU path rounds them,
    // pass through the K tile as Qᵀ [hdp][kc], kc rows at a time.
    simdgroup_matrix<C, 8, 8> qt[ATTN_PREFILL_SLICES];
    for (int b = 0; b < ATTN_PREFILL_ROWS; b += kc) {
        if (b > 0) {
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        for (int x = tiitg; x < kc * hdp; x += 32 * ATTN_PREFILL_SIMDGROUPS) {
            const int r = r0 + b + x / hdp, e = x % hdp;
            kt[e * kc + x / hdp] = r <= r1 && e < hd ? C(q[attn_prefill_q(p, kvh, group, r) + e]) : C(0);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (8 * sgitg >= b && 8 * sgitg < b + kc) {
            for (short k = 0; k < ATTN_PREFILL_SLICES; k++) {
                if (k < nk) {
                    simdgroup_load(qt[k], kt + 8 * k * kc + 8 * sgitg - b, kc);
                }
            }
        }
    }

    simdgroup_float8x8 o[ATTN_PREFILL_SLICES];
    for (short k = 0; k < ATTN_PREFILL_SLICES; k++) {
        o[k] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    }
    simdgroup_float8x8 zero = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    // Lanes l of a row, row = l % 8, hold its running max and each its
    // part of the sum.
    const int row = tiisg % 8;
    const bool valid = s0 + row <= s1;
    const AttnRows seen = attn_rows(step, p, min(s0 + row, r1) / group);
    float m = -INFINITY, s = 0.0f;

    // Rows are token major and lo, hi grow with the token: the tile sees
    // the rows from its first token's lo to its last token's hi, the
    // simdgroup those from its first's to its last's.
    const int first = attn_rows(step, p, r0 / group).lo, last = attn_rows(step, p, r1 / group).hi;
    const bool busy = s0 <= s1;
    const int slo = busy ? attn_rows(step, p, s0 / group).lo : 0, shi = busy ? attn_rows(step, p, s1 / group).hi : -1;
    for (int b0 = first; b0 <= last; b0 += kc) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        attn_prefill_stage<C>(k_cache + kvoff, width, hd, hdp, kc, b0, last, kt, tiitg);
        attn_prefill_stage<C>(v_cache + kvoff, width, hd, hdp, kc, b0, last, vt, tiitg);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (b0 > shi || b0 + kc <= slo) {
            continue; // none of the simdgroup's rows sees this block (uniform)
        }

        simdgroup_float8x8 st[ATTN_PREFILL_BLOCK / 8];
        for (short j = 0; j < ATTN_PREFILL_BLOCK / 8; j++) {
            if (j < kc / 8) {
                st[j] = zero;
                for (short k = 0; k < ATTN_PREFILL_SLICES; k++) {
                    if (k < nk) {
                        simdgroup_matrix<C, 8, 8> km;
                        simdgroup_load(km, kt + 8 * j * hdp + 8 * k, hdp);
                        simdgroup_multiply_accumulate(st[j], km, qt[k], st[j]);
                    }
                }
                simdgroup_store(st[j], ps + 64 * j, 8);
            }
        }
        simdgroup_barrier(mem_flags::mem_threadgroup);

        // ps holds Sᵀ [kc][8]. Lane l scores columns l / 8 + 4u of row
        // l % 8; the row's four lanes agree on its maximum through mx, then
        // write their probabilities into P [8][kc] over Sᵀ.
        float sc[ATTN_PREFILL_BLOCK / 4];
        float bm = -INFINITY;
        for (short u = 0; u < ATTN_PREFILL_BLOCK / 4; u++) {
            const int j = tiisg / 8 + 4 * u;
            sc[u] = -INFINITY;
            if (valid && j < kc && b0 + j >= seen.lo && b0 + j <= seen.hi) {
                sc[u] = ps[8 * j + row] * p.scale;
                bm = max(bm, sc[u]);
            }
        }
        mx[tiisg] = bm;
        simdgroup_barrier(mem_flags::mem_threadgroup);
        const float mn = max(max(m, max(mx[row], mx[row + 8])), max(mx[row + 16], mx[row + 24]));
        const float corr = mn == -INFINITY ? 1.0f : exp(m - mn); // 0 while m is still −∞
        float sum = 0.0f;
        for (short u = 0; u < ATTN_PREFILL_BLOCK / 4; u++) {
            const int j = tiisg / 8 + 4 * u;
            if (j < kc) {
                const float pj = sc[u] == -INFINITY ? 0.0f : exp(sc[u] - mn);
                ps[row * kc + j] = pj;
                sum += pj;
            }
        }
        s = s * corr + sum;
        m = mn;
        if (tiisg < 8) {
            dg[9 * tiisg] = corr;
        }
        simdgroup_barrier(mem_flags::mem_threadgroup);

        simdgroup_float8x8 dm, pm[ATTN_PREFILL_BLOCK / 8];
        simdgroup_load(dm, dg, 8);
        for (short j = 0; j < ATTN_PREFILL_BLOCK / 8; j++) {
            if (j < kc / 8) {
                simdgroup_load(pm[j], ps + 8 * j, kc);
            }
        }
        for (short k = 0; k < ATTN_PREFILL_SLICES; k++) {
            if (k < nk) {
                simdgroup_multiply_accumulate(o[k], dm, o[k], zero);
                for (short j = 0; j < ATTN_PREFILL_BLOCK / 8; j++) {
                    if (j < kc / 8) {
                        simdgroup_matrix<C, 8, 8> vm;
                        simdgroup_load(vm, vt + 8 * j * hdp + 8 * k, hdp);
                        simdgroup_multiply_accumulate(o[k], pm[j], vm, o[k]);
                    }
                }
            }
        }
    }
    if (!busy) {
        return;
    }

    // O leaves through ps, kc columns at a time, divided by the row's sum
    // (1/sum replaces corr in dg once every lane has loaded it).
    simdgroup_barrier(mem_flags::mem_threadgroup);
    mx[tiisg] = s;
    simdgroup_barrier(mem_flags::mem_threadgroup);
    if (tiisg < 8) {
        const float sum = mx[row] + mx[row + 8] + mx[row + 16] + mx[row + 24];
        dg[9 * tiisg] = sum > 0.0f ? 1.0f / sum : 0.0f;
    }
    for (int k0 = 0; k0 < nk; k0 += kc / 8) {
        for (short j = 0; j < ATTN_PREFILL_BLOCK / 8; j++) {
            if (j < kc / 8 && k0 + j < nk) {
                simdgroup_store(o[k0 + j], ps + 8 * j, kc);
            }
        }
        simdgroup_barrier(mem_flags::mem_threadgroup);
        for (int x = tiisg; x < 8 * kc; x += 32) {
            const int r = s0 + x / kc, e = 8 * k0 + x % kc;
            if (r <= s1 && e < hd) {
                out[attn_prefill_q(p, kvh, group, r) + e] = ps[x] * dg[9 * (x / kc)];
            }
        }
        simdgroup_barrier(mem_flags::mem_threadgroup);
    }
}

// The cache type is in the signature: one function type per cache type.
typedef decltype(attn_decode<float, 1>) attn_decode_f32_t;
typedef decltype(attn_decode<half, 1>) attn_decode_f16_t;
typedef decltype(attn_prefill<float>) attn_prefill_f32_t;
typedef decltype(attn_prefill<half>) attn_prefill_f16_t;

template [[host_name("attn_decode_f32_n1")]] kernel attn_decode_f32_t attn_decode<float, 1>;
template [[host_name("attn_decode_f32_n2")]] kernel attn_decode_f32_t attn_decode<float, 2>;
template [[host_name("attn_decode_f32_n3")]] kernel attn_decode_f32_t attn_decode<float, 3>;
template [[host_name("attn_decode_f32_n4")]] kernel attn_decode_f32_t attn_decode<float, 4>;
template [[host_name("attn_decode_f32_n5")]] kernel attn_decode_f32_t attn_decode<float, 5>;
template [[host_name("attn_decode_f32_n6")]] kernel attn_decode_f32_t attn_decode<float, 6>;
template [[host_name("attn_decode_f32_n7")]] kernel attn_decode_f32_t attn_decode<float, 7>;
template [[host_name("attn_decode_f32_n8")]] kernel attn_decode_f32_t attn_decode<float, 8>;
template [[host_name("attn_decode_f16_n1")]] kernel attn_decode_f16_t attn_decode<half, 1>;
template [[host_name("attn_decode_f16_n2")]] kernel attn_decode_f16_t attn_decode<half, 2>;
template [[host_name("attn_decode_f16_n3")]] kernel attn_decode_f16_t attn_decode<half, 3>;
template [[host_name("attn_decode_f16_n4")]] kernel attn_decode_f16_t attn_decode<half, 4>;
template [[host_name("attn_decode_f16_n5")]] kernel attn_decode_f16_t attn_decode<half, 5>;
template [[host_name("attn_decode_f16_n6")]] kernel attn_decode_f16_t attn_decode<half, 6>;
template [[host_name("attn_decode_f16_n7")]] kernel attn_decode_f16_t attn_decode<half, 7>;
template [[host_name("attn_decode_f16_n8")]] kernel attn_decode_f16_t attn_decode<half, 8>;

template [[host_name("attn_prefill_f32")]] kernel attn_prefill_f32_t attn_prefill<float>;
template [[host_name("attn_prefill_f16")]] kernel attn_prefill_f16_t attn_prefill<half>;
