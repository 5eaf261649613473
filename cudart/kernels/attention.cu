// Causal grouped-query attention over the KV cache: decode (prefill's is
// flash.cu).
//
// Query t of the step sits at position pos = pos0 + t and sees cache rows
// lo..hi: hi = min(pos, kv_len − 1), lo = pos − window + 1 with a sliding
// window (window > 0), else 0. Query head h reads KV head
// h / (heads / kv_heads). With half caches the query is rounded to half
// before Q·K, as the CPU runtime does.
//
// The loops over rows, positions and warps stay rolled (#pragma unroll 1):
// unrolled, they made the compiler take minutes.
//
// Split-K (flash decoding): a launch has S = gridDim.z splits per (head,
// token); split z takes a contiguous share of the blocks of ATTN_ROWS rows
// that hold lo..hi, computed here from the step buffer, so a CUDA graph
// captured once stays right as kv_len grows. S = 1 writes out directly;
// otherwise each split writes its partial (m, s, acc[head_dim]) to the
// scratch buffer and attn_decode_reduce merges the S partials. A split
// that sees no row leaves m = −∞ and weighs nothing.
//
// Each warp walks its share of the split's rows in blocks of ATTN_ROWS
// with an online softmax. In a block the warp scores ATTN_ROWS rows at a time, each lane
// multiplying its head_dim / 32 elements (lane + 32·d) of the query with
// those of every row, so each row is read by consecutive lanes and the
// rows' loads are all in flight together; warp_sum gives each row's score
// to every lane and lane j keeps row b0 + j's. warp_max / warp_sum then
// update the running max m and sum s, and every lane adds the block's
// weighted V rows, ATTN_ROWS at a time, into the elements it owns. Rows
// outside lo..hi are read clamped to it (always valid memory) and weigh
// nothing.

#define ATTN_ROWS 8

// attn_blocks folds blocks first, first + step, ... (in units of BLK
// rows, 32 at most) of rows lo..hi into one warp's running (m, s, acc); qr
// holds the lane's query elements. Decode takes blocks of ATTN_ROWS rows,
// so that the warps share even a short cache (at 30 positions, blocks of
// 32 left one warp of 8 with all the work).
template <typename C, int BLK>
__device__ __forceinline__ void attn_blocks(const float *qr, const C *kc, const C *vc, u64 width, u64 kvoff, int hd,
                                            float scale, int lo, int hi, int first, int step, float &m, float &s,
                                            float *acc) {
    const int lane = threadIdx.x % 32;
#pragma unroll 1
    for (int b0 = first * BLK; b0 <= hi; b0 += step * BLK) {
        float score = NEG_INF;
#pragma unroll 1
        for (int r0 = 0; r0 < BLK; r0 += ATTN_ROWS) {
            float part[ATTN_ROWS];
#pragma unroll
            for (int i = 0; i < ATTN_ROWS; i++) {
                const C *kr = kc + u64(min(max(b0 + r0 + i, lo), hi)) * width + kvoff;
                part[i] = 0.0f;
#pragma unroll
                for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
                    const int e = lane + 32 * d;
                    if (e < hd) {
                        part[i] += qr[d] * tof(kr[e]);
                    }
                }
            }
#pragma unroll
            for (int i = 0; i < ATTN_ROWS; i++) {
                const float v = warp_sum(part[i]);
                const int j = b0 + r0 + i;
                if (lane == r0 + i && j >= lo && j <= hi) {
                    score = v * scale;
                }
            }
        }
        const float bm = warp_max(score);
        if (bm == NEG_INF) {
            continue; // no visible row in this block (uniform over the warp)
        }
        const float mn = fmaxf(m, bm);
        const float corr = expf(m - mn);  // 0 while m is still −∞
        const float pr = expf(score - mn); // 0 for masked rows
        s = s * corr + warp_sum(pr);
#pragma unroll
        for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
            acc[d] *= corr;
        }
        const int l0 = max(lo - b0, 0), l1 = min(hi - b0, BLK - 1);
#pragma unroll 1
        for (int l = l0; l <= l1; l += ATTN_ROWS) {
            float v[ATTN_ROWS][ATTN_MAX_DIM_PER_LANE];
#pragma unroll
            for (int i = 0; i < ATTN_ROWS; i++) {
                const C *vr = vc + u64(b0 + min(l + i, l1)) * width + kvoff;
#pragma unroll
                for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
                    const int e = lane + 32 * d;
                    v[i][d] = e < hd ? tof(vr[e]) : 0.0f;
                }
            }
#pragma unroll
            for (int i = 0; i < ATTN_ROWS; i++) {
                const float pl = __shfl_sync(0xffffffffu, pr, min(l + i, 31));
                if (l + i <= l1) {
#pragma unroll
                    for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
                        acc[d] += pl * v[i][d];
                    }
                }
            }
        }
        m = mn;
    }
}

// merge_partials folds count partials (m, s, acc[hd]), stride floats apart,
// into element e's max m (mx), sum Σ s·exp(m − mx) and Σ acc[e]·exp(m − mx),
// the usual rescaling of online softmax partials.
__device__ __forceinline__ void merge_partials(const float *parts, int count, int stride, int e, float &mx,
                                               float &sum, float &a) {
    mx = NEG_INF;
#pragma unroll 1
    for (int g = 0; g < count; g++) {
        mx = fmaxf(mx, parts[u64(g) * stride]);
    }
    sum = 0.0f;
    a = 0.0f;
#pragma unroll 1
    for (int g = 0; g < count; g++) {
        const float *pg = parts + u64(g) * stride;
        if (pg[0] == NEG_INF) {
            continue; // this part saw no row
        }
        const float f = expf(pg[0] - mx);
        sum += pg[1] * f;
        a += pg[2 + e] * f;
    }
}

// attn_result is an output element from merged sums: 0 where no row was seen.
__device__ __forceinline__ float attn_result(float sum, float a) { return sum > 0.0f ? a / sum : 0.0f; }

// attn_decode: block (head, token, split) of 8 warps; warp g takes blocks
// g, g+8, ... of the split's ATTN_ROWS-row blocks. The query is staged in
// shared memory; afterwards the same memory holds each warp's (m, s,
// acc[head_dim]), merged by merge_partials into out (one split) or into the
// split's partial at part[((t·heads + h)·S + z)·(head_dim + 2)].
template <typename C>
__device__ __forceinline__ void attn_decode(const StepParams *step, const float *q, const C *k_cache,
                                            const C *v_cache, float *out, const AttnParams &p, float *part) {
    DYNAMIC_SHARED(float, shm);
    const int h = blockIdx.x, t = blockIdx.y, hd = p.head_dim;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int kvh = h / (p.heads / p.kv_heads);
    const int pos = step->pos0 + t;
    const int hi = min(min(pos, step->kv_len - 1), p.capacity - 1);
    const int lo = p.window > 0 ? max(0, pos - p.window + 1) : 0;
    const u64 width = u64(p.kv_heads) * hd;
    const u64 qb = (u64(t) * p.heads + h) * hd;

    // This split's blocks: first .. first + share − 1 of those holding lo..hi.
    const int blocks = max(hi / ATTN_ROWS - lo / ATTN_ROWS + 1, 0);
    const int share = (blocks + int(gridDim.z) - 1) / int(gridDim.z);
    const int first = lo / ATTN_ROWS + int(blockIdx.z) * share;
    const int slo = max(lo, first * ATTN_ROWS), shi = min(hi, (first + share) * ATTN_ROWS - 1);

    for (int e = threadIdx.x; e < hd; e += blockDim.x) {
        shm[e] = tof(fromf<C>(q[qb + e]));
    }
    __syncthreads();

    float m = NEG_INF, s = 0.0f;
    float acc[ATTN_MAX_DIM_PER_LANE], qr[ATTN_MAX_DIM_PER_LANE];
#pragma unroll
    for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        acc[d] = 0.0f;
    }
#pragma unroll
    for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        const int e = lane + 32 * d;
        qr[d] = e < hd ? shm[e] : 0.0f;
    }
    attn_blocks<C, ATTN_ROWS>(qr, k_cache, v_cache, width, u64(kvh) * hd, hd, p.scale, slo, shi, first + warp,
                              ATTN_WARPS, m, s, acc);
    __syncthreads(); // the query is read: its memory takes the partials

    float *own = shm + warp * (hd + 2);
    if (lane == 0) {
        own[0] = m;
        own[1] = s;
    }
#pragma unroll
    for (int d = 0; d < ATTN_MAX_DIM_PER_LANE; d++) {
        const int e = lane + 32 * d;
        if (e < hd) {
            own[2 + e] = acc[d];
        }
    }
    __syncthreads();

    for (int e = threadIdx.x; e < hd; e += blockDim.x) {
        float mx, sum, a;
        merge_partials(shm, ATTN_WARPS, hd + 2, e, mx, sum, a);
        if (gridDim.z == 1) {
            out[qb + e] = attn_result(sum, a);
            continue;
        }
        float *split = part + ((u64(t) * p.heads + h) * gridDim.z + blockIdx.z) * (hd + 2);
        if (e == 0) {
            split[0] = mx;
            split[1] = sum;
        }
        split[2 + e] = a;
    }
}

#define ATTN(name, impl, C)                                                                                         \
    extern "C" __global__ void __launch_bounds__(ATTN_WARPS * 32)                                                  \
        name(const StepParams *step, const float *q, const C *k_cache, const C *v_cache, float *out,              \
             const AttnParams p, float *part) {                                                                   \
        impl<C>(step, q, k_cache, v_cache, out, p, part);                                                         \
    }

ATTN(attn_decode_f32, attn_decode, float)
ATTN(attn_decode_f16, attn_decode, half_t)

// attn_decode_reduce: block (head, token), a thread per element, merges the
// splits.count partials attn_decode left in part into out.
extern "C" __global__ void __launch_bounds__(ATTN_WARPS * 32)
    attn_decode_reduce(const float *part, float *out, const AttnParams p, const EltParams splits) {
    const int h = blockIdx.x, t = blockIdx.y, hd = p.head_dim;
    const u64 qb = (u64(t) * p.heads + h) * hd;
    const float *parts = part + (u64(t) * p.heads + h) * splits.count * (hd + 2);
    for (int e = threadIdx.x; e < hd; e += blockDim.x) {
        float mx, sum, a;
        merge_partials(parts, splits.count, hd + 2, e, mx, sum, a);
        out[qb + e] = attn_result(sum, a);
    }
}
