// Prefill attention: tiled flash attention on the tensor cores.
//
// Block (head h, tile of FA_WARPS·16 queries); warp w owns 16 queries
// as the rows of its mma.m16n8k16 fragments, its query rounded to half in
// registers. The block walks the cache rows its queries see in blocks of
// FA_KV rows: every thread helps stage the rows as halves in shared memory
// (K row-major, V transposed so that both products read their B fragments
// as pairs of halves), then each warp computes S = Q·Kᵀ on the tensor
// cores, masks it (causal, sliding window), updates each query's running
// max and sum (online softmax, float), turns its S fragments into the A
// fragments of P (the m16n8 output layout of two column tiles is the
// m16k16 input layout) and adds P·V into float accumulators. Rows beyond
// the last query of the tile are never staged: causality skips them.
//
// Float caches are rounded to half like half caches (llama.cpp's flash
// attention does the same); the CPU runtime keeps them float, a
// difference far inside the float cases' bound.

// fa_row is the shared-memory stride of a staged K row, in halves: 8 more
// than the padded head_dim, so the 8 rows a fragment load touches fall in
// different banks.
__device__ __forceinline__ int fa_row(int hdp) { return hdp + 8; }
#define FA_VT_ROW (FA_KV + 8) // stride of a transposed V row (one head_dim element), in halves

__device__ __forceinline__ u32 pack_h2(float lo, float hi) { return u32(f2h(lo)) | u32(f2h(hi)) << 16; }

// fa_load8 reads cache elements e..e+7 of a row (0 past head_dim) as
// halves; vec says the row's 8 elements may be read with 16-byte loads.
// H8 is 8 halves read with one 16-byte load.
struct alignas(16) H8 {
    u32 w[4];
};

template <typename C> __device__ __forceinline__ void fa_load8(const C *row, int e, int hd, bool vec, half_t (&h)[8]);

template <> __device__ __forceinline__ void fa_load8<half_t>(const half_t *row, int e, int hd, bool vec, half_t (&h)[8]) {
    if (vec) {
        const H8 v = *(const H8 *)(row + e);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            h[i] = half_t(v.w[i / 2] >> (16 * (i % 2)));
        }
        return;
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        h[i] = e + i < hd ? row[e + i] : half_t(0);
    }
}

template <> __device__ __forceinline__ void fa_load8<float>(const float *row, int e, int hd, bool vec, half_t (&h)[8]) {
    if (vec) {
        const F4 a = *(const F4 *)(row + e), b = *(const F4 *)(row + e + 4);
        const float f[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
        for (int i = 0; i < 8; i++) {
            h[i] = f2h(f[i]);
        }
        return;
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        h[i] = e + i < hd ? f2h(row[e + i]) : half_t(0);
    }
}

// fa_stage copies cache rows b0..b0+FA_KV-1 (read clamped to last, and
// masked later) of one KV head into shared memory: K as rows, V as columns.
template <typename C>
__device__ __forceinline__ void fa_stage(const C *kc, const C *vc, u64 width, u64 kvoff, int hd, int hdp, bool vec,
                                         int b0, int last, half_t *ks, half_t *vt) {
    const int chunks = hdp / 8;
#pragma unroll 1
    for (int i = threadIdx.x; i < FA_KV * chunks; i += FA_WARPS * 32) {
        const int r = i / chunks, e = 8 * (i % chunks);
        const u64 off = u64(min(b0 + r, last)) * width + kvoff;
        half_t h[8];
        fa_load8<C>(kc + off, e, hd, vec, h);
        u32 *kd = (u32 *)(ks + r * fa_row(hdp) + e);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            kd[j] = u32(h[2 * j]) | u32(h[2 * j + 1]) << 16;
        }
        fa_load8<C>(vc + off, e, hd, vec, h);
#pragma unroll
        for (int j = 0; j < 8; j++) {
            vt[(e + j) * FA_VT_ROW + r] = h[j];
        }
    }
}

// fa_quad_max and fa_quad_sum reduce over the 4 lanes that hold one
// fragment row.
__device__ __forceinline__ float fa_quad_max(float v) {
    v = fmaxf(v, __shfl_sync(0xffffffffu, v, (threadIdx.x % 32) ^ 1));
    return fmaxf(v, __shfl_sync(0xffffffffu, v, (threadIdx.x % 32) ^ 2));
}

__device__ __forceinline__ float fa_quad_sum(float v) {
    v += __shfl_sync(0xffffffffu, v, (threadIdx.x % 32) ^ 1);
    return v + __shfl_sync(0xffffffffu, v, (threadIdx.x % 32) ^ 2);
}

// attn_flash is attn_prefill for head_dim ≤ DT (a multiple of 16): the
// fragment arrays are sized by DT, the loops stop at head_dim rounded up to
// 16 (hdp).
template <typename C, int DT>
__device__ __forceinline__ void attn_flash(const StepParams *step, const float *q, const C *k_cache, const C *v_cache,
                                           float *out, const AttnParams &p) {
    DYNAMIC_SHARED(half_t, fa_smem); // named apart from attention.cu's float shm: NVRTC sees both
    const int hd = p.head_dim, hdp = (hd + 15) / 16 * 16;
    half_t *ks = fa_smem, *vt = fa_smem + FA_KV * fa_row(hdp);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, tq = lane % 4;
    const int h = blockIdx.x, kvh = h / (p.heads / p.kv_heads);
    const int t0 = blockIdx.y * FA_WARPS * 16, tw = t0 + warp * 16;
    const int pos0 = step->pos0, top = min(step->kv_len, p.capacity) - 1;
    const u64 width = u64(p.kv_heads) * hd, kvoff = u64(kvh) * hd;
    const bool vec = hd % 8 == 0 && width % 8 == 0 && kvoff % 8 == 0 && (u64(k_cache) | u64(v_cache)) % 16 == 0;

    // This lane's two query rows (g and g+8) and the cache rows they see.
    int lo[2], hi[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int pos = pos0 + tw + g + 8 * r;
        hi[r] = min(pos, top);
        lo[r] = p.window > 0 ? max(0, pos - p.window + 1) : 0;
    }
    // The rows some query of the block sees, and of the warp.
    const int t_last = min(t0 + FA_WARPS * 16, p.n) - 1;
    const int blo = p.window > 0 ? max(0, pos0 + t0 - p.window + 1) : 0, bhi = min(pos0 + t_last, top);
    const int wlo = p.window > 0 ? max(0, pos0 + tw - p.window + 1) : 0, whi = min(pos0 + min(tw + 15, p.n - 1), top);
    const bool active = tw < p.n;

    u32 qf[DT / 16][4];
#pragma unroll
    for (int kc = 0; kc < DT / 16; kc++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int t = tw + g + 8 * (i % 2), e = 16 * kc + 2 * tq + 8 * (i / 2);
            const float *qr = q + (u64(min(t, p.n - 1)) * p.heads + h) * hd;
            const bool ok = t < p.n;
            qf[kc][i] = pack_h2(ok && e < hd ? qr[e] : 0.0f, ok && e + 1 < hd ? qr[e + 1] : 0.0f);
        }
    }
    float acc[DT / 8][4];
#pragma unroll
    for (int j = 0; j < DT / 8; j++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            acc[j][i] = 0.0f;
        }
    }
    float m[2] = {NEG_INF, NEG_INF}, s[2] = {0.0f, 0.0f};

#pragma unroll 1
    for (int b0 = blo / FA_KV * FA_KV; b0 <= bhi; b0 += FA_KV) {
        __syncthreads(); // the last block's rows are read
        fa_stage<C>(k_cache, v_cache, width, kvoff, hd, hdp, vec, b0, bhi, ks, vt);
        __syncthreads();
        if (!active || b0 > whi || b0 + FA_KV - 1 < wlo) {
            continue; // no query of this warp sees these rows
        }
        float sc[FA_KV / 8][4];
#pragma unroll
        for (int j = 0; j < FA_KV / 8; j++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                sc[j][i] = 0.0f;
            }
            const half_t *kr = ks + (8 * j + g) * fa_row(hdp) + 2 * tq;
#pragma unroll
            for (int kc = 0; kc < DT / 16; kc++) {
                if (16 * kc < hdp) {
                    const u32 b[2] = {*(const u32 *)(kr + 16 * kc), *(const u32 *)(kr + 16 * kc + 8)};
                    mma_f16(sc[j], qf[kc], b);
                }
            }
        }
        // Mask, scale and fold the block into each row's running max and sum.
        float corr[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float bm = NEG_INF;
#pragma unroll
            for (int j = 0; j < FA_KV / 8; j++) {
#pragma unroll
                for (int c = 0; c < 2; c++) {
                    const int row = b0 + 8 * j + 2 * tq + c;
                    float &v = sc[j][2 * r + c];
                    v = row >= lo[r] && row <= hi[r] ? v * p.scale : NEG_INF;
                    bm = fmaxf(bm, v);
                }
            }
            const float mn = fmaxf(m[r], fa_quad_max(bm));
            const float base = mn == NEG_INF ? 0.0f : mn; // no row seen yet: every weight is 0
            corr[r] = expf(m[r] - base);
            float part = 0.0f;
#pragma unroll
            for (int j = 0; j < FA_KV / 8; j++) {
#pragma unroll
                for (int c = 0; c < 2; c++) {
                    float &v = sc[j][2 * r + c];
                    v = expf(v - base);
                    part += v;
                }
            }
            s[r] = s[r] * corr[r] + part; // this lane's share; the quad's summed at the end
            m[r] = mn;
        }
        u32 pf[FA_KV / 16][4];
#pragma unroll
        for (int kk = 0; kk < FA_KV / 16; kk++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                pf[kk][i] = pack_h2(sc[2 * kk + i / 2][2 * (i % 2)], sc[2 * kk + i / 2][2 * (i % 2) + 1]);
            }
        }
#pragma unroll
        for (int j = 0; j < DT / 8; j++) {
            if (8 * j < hdp) {
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    acc[j][i] *= corr[i / 2];
                }
                const half_t *vr = vt + (8 * j + g) * FA_VT_ROW + 2 * tq;
#pragma unroll
                for (int kk = 0; kk < FA_KV / 16; kk++) {
                    const u32 b[2] = {*(const u32 *)(vr + 16 * kk), *(const u32 *)(vr + 16 * kk + 8)};
                    mma_f16(acc[j], pf[kk], b);
                }
            }
        }
    }
    if (!active) {
        return;
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int t = tw + g + 8 * r;
        const float sum = fa_quad_sum(s[r]);
        if (t >= p.n) {
            continue;
        }
        float *o = out + (u64(t) * p.heads + h) * hd;
#pragma unroll
        for (int j = 0; j < DT / 8; j++) {
#pragma unroll
            for (int c = 0; c < 2; c++) {
                const int e = 8 * j + 2 * tq + c;
                if (e < hd) {
                    o[e] = sum > 0.0f ? acc[j][2 * r + c] / sum : 0.0f;
                }
            }
        }
    }
}

// attn_prefill picks the fragment arrays that hold head_dim.
template <typename C>
__device__ __forceinline__ void attn_prefill(const StepParams *step, const float *q, const C *k_cache,
                                             const C *v_cache, float *out, const AttnParams &p) {
    if (p.head_dim <= 64) {
        attn_flash<C, 64>(step, q, k_cache, v_cache, out, p);
    } else if (p.head_dim <= 128) {
        attn_flash<C, 128>(step, q, k_cache, v_cache, out, p);
    } else {
        attn_flash<C, 256>(step, q, k_cache, v_cache, out, p);
    }
}

#define FLASH(name, C)                                                                                              \
    extern "C" __global__ void __launch_bounds__(FA_WARPS * 32) name(                                               \
        const StepParams *step, const float *q, const C *k_cache, const C *v_cache, float *out, const AttnParams p) { \
        attn_prefill<C>(step, q, k_cache, v_cache, out, p);                                                         \
    }

FLASH(attn_prefill_f32, float)
FLASH(attn_prefill_f16, half_t)
