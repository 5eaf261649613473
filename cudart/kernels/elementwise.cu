// Embedding lookup, RMS norm, rope, KV cache stores and elementwise ops.

// embed: block (g, t) writes elements 256g.. of token t's row of the
// table, decoded natively (each thread decodes the 32-element chunk holding
// its element). A token id outside the table yields NaN, never another
// token's row: the host checks ids, and a NaN cannot pass for an answer.
template <typename D>
__device__ __forceinline__ void embed(const u8 *table, const int *tokens, float *out, const EmbedParams &p) {
    const int e = blockIdx.x * ELT_THREADS + threadIdx.x, t = blockIdx.y;
    if (e >= p.dim) {
        return;
    }
    const int id = tokens[t];
    const u64 o = u64(t) * p.dim + e;
    if (id < 0 || id >= p.vocab) {
        out[o] = QNAN;
        return;
    }
    float w[32];
    D::load32(table + D::row_bytes(p.dim) * u64(id), e / 32, p.dim, w);
    float v = 0.0f;
#pragma unroll
    for (int i = 0; i < 32; i++) {
        v = i == e % 32 ? w[i] : v; // constant indices keep w in registers
    }
    out[o] = v;
}

#define EMBED(name, D)                                                                                              \
    extern "C" __global__ void __launch_bounds__(ELT_THREADS)                                                       \
        name(const u8 *table, const int *tokens, float *out, const EmbedParams p) {                                \
        embed<D>(table, tokens, out, p);                                                                            \
    }

EMBED(embed_f32, DecF32)
EMBED(embed_f16, DecF16)
EMBED(embed_bf16, DecBF16)
EMBED(embed_q4_0, DecQ4_0)
EMBED(embed_q8_0, DecQ8_0)
EMBED(embed_q4_k, DecQ4_K)
EMBED(embed_q5_k, DecQ5_K)
EMBED(embed_q6_k, DecQ6_K)

// rmsnorm: out = x · 1/sqrt(mean(x²) + eps) · weight, one block per token
// row (blockDim.x a multiple of 32, at most 1024): warp sums meet in
// shared memory.
extern "C" __global__ void rmsnorm(const float *x, const float *weight, float *out, const NormParams p) {
    __shared__ float partial[32];
    const u64 row = u64(blockIdx.x) * p.dim;
    const float *xr = x + row;
    float s = 0.0f;
    for (int i = threadIdx.x; i < p.dim; i += blockDim.x) {
        s += xr[i] * xr[i];
    }
    s = warp_sum(s);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        partial[warp] = s;
    }
    __syncthreads();
    if (warp == 0) {
        float t = lane < int(blockDim.x / 32) ? partial[lane] : 0.0f;
        t = warp_sum(t);
        if (lane == 0) {
            partial[0] = t;
        }
    }
    __syncthreads();
    const float scale = 1.0f / sqrtf(partial[0] / float(p.dim) + p.eps);
    for (int i = threadIdx.x; i < p.dim; i += blockDim.x) {
        out[row + i] = xr[i] * scale * weight[i];
    }
}

// rope_pair rotates (x0, x1), elements 2i and 2i+1 of a head, at position
// pos the way the CPU runtime (and ggml) does: θ starts at pos and is
// multiplied by base^(−2/dims) in float once per pair, sin and cos are
// taken in double, and the products are rounded before the sum (no FMA).
__device__ __forceinline__ void rope_pair(float &x0, float &x1, int pos, int i, int dims, float base,
                                          float freq_scale) {
    const float theta_scale = float(pow(double(base), double(-2.0f / float(dims))));
    float theta = float(pos);
    for (int j = 0; j < i; j++) {
        theta *= theta_scale;
    }
    double s, c;
    sincos(double(freq_scale * theta), &s, &c);
    const float fs = float(s), fc = float(c);
    const float r0 = __fsub_rn(__fmul_rn(x0, fc), __fmul_rn(x1, fs));
    const float r1 = __fadd_rn(__fmul_rn(x0, fs), __fmul_rn(x1, fc));
    x0 = r0;
    x1 = r1;
}

// rope_head ropes one head of head_dim at src into dst (which may be a
// cache row of type C) with the block's threads.
template <typename C>
__device__ __forceinline__ void rope_head(const float *src, C *dst, int pos, int head_dim, int dims, float base,
                                          float freq_scale) {
    for (int i = threadIdx.x; i < dims / 2; i += blockDim.x) {
        float x0 = src[2 * i], x1 = src[2 * i + 1];
        rope_pair(x0, x1, pos, i, dims, base, freq_scale);
        dst[2 * i] = fromf<C>(x0);
        dst[2 * i + 1] = fromf<C>(x1);
    }
    for (int e = dims + threadIdx.x; e < head_dim; e += blockDim.x) {
        dst[e] = fromf<C>(src[e]);
    }
}

// rope: block (head, token) at position pos0 + token.
extern "C" __global__ void rope(const StepParams *step, const float *x, float *out, const RopeParams p) {
    const int h = blockIdx.x, t = blockIdx.y;
    const u64 base = (u64(t) * p.heads + h) * p.head_dim;
    rope_head<float>(x + base, out + base, step->pos0 + t, p.head_dim, p.dims, p.base, p.freq_scale);
}

// KV cache stores. The caches are bound whole ([capacity, width] rows);
// token t of the step lands in row pos0 + t.

// kv_write: block (g, t) copies elements 256g.. of token t's K and V.
template <typename C>
__device__ __forceinline__ void kv_write(const StepParams *step, const float *k, const float *v, C *k_cache,
                                         C *v_cache, const KVParams &p) {
    const int i = blockIdx.x * ELT_THREADS + threadIdx.x, t = blockIdx.y;
    const int pos = step->pos0 + t;
    if (i >= p.width || pos < 0 || pos >= p.capacity) {
        return;
    }
    const u64 src = u64(t) * p.width + i, dst = u64(pos) * p.width + i;
    k_cache[dst] = fromf<C>(k[src]);
    v_cache[dst] = fromf<C>(v[src]);
}

// rope_kv_write: block (h, t) ropes head h of token t's query into q_out;
// when h < kv_heads it also ropes K head h into the cache and stores V
// head h.
template <typename C>
__device__ __forceinline__ void rope_kv_write(const StepParams *step, const float *q, const float *k,
                                              const float *v, float *q_out, C *k_cache, C *v_cache,
                                              const RopeKVParams &p) {
    const int h = blockIdx.x, t = blockIdx.y;
    const int pos = step->pos0 + t;
    const u64 qb = (u64(t) * p.heads + h) * p.head_dim;
    rope_head<float>(q + qb, q_out + qb, pos, p.head_dim, p.dims, p.base, p.freq_scale);
    if (h >= p.kv_heads || pos < 0 || pos >= p.capacity) {
        return;
    }
    const u64 width = u64(p.kv_heads) * p.head_dim;
    const u64 kb = u64(t) * width + u64(h) * p.head_dim;
    const u64 cb = u64(pos) * width + u64(h) * p.head_dim;
    rope_head<C>(k + kb, k_cache + cb, pos, p.head_dim, p.dims, p.base, p.freq_scale);
    for (int e = threadIdx.x; e < p.head_dim; e += blockDim.x) {
        v_cache[cb + e] = fromf<C>(v[kb + e]);
    }
}

#define KV_WRITE(name, C)                                                                                           \
    extern "C" __global__ void name(const StepParams *step, const float *k, const float *v, C *k_cache,            \
                                    C *v_cache, const KVParams p) {                                                 \
        kv_write<C>(step, k, v, k_cache, v_cache, p);                                                               \
    }
#define ROPE_KV_WRITE(name, C)                                                                                      \
    extern "C" __global__ void name(const StepParams *step, const float *q, const float *k, const float *v,        \
                                    float *q_out, C *k_cache, C *v_cache, const RopeKVParams p) {                   \
        rope_kv_write<C>(step, q, k, v, q_out, k_cache, v_cache, p);                                                \
    }

KV_WRITE(kv_write_f32, float)
KV_WRITE(kv_write_f16, half_t)
ROPE_KV_WRITE(rope_kv_write_f32, float)
ROPE_KV_WRITE(rope_kv_write_f16, half_t)

// swiglu: out = silu(gate)·up; out may be gate itself (one thread reads
// and writes each element).
extern "C" __global__ void __launch_bounds__(ELT_THREADS)
    swiglu(const float *gate, const float *up, float *out, const EltParams p) {
    const int i = blockIdx.x * ELT_THREADS + threadIdx.x;
    if (i < p.count) {
        out[i] = silu(gate[i]) * up[i];
    }
}

// add: out = a + b; out may be a itself.
extern "C" __global__ void __launch_bounds__(ELT_THREADS)
    add(const float *a, const float *b, float *out, const EltParams p) {
    const int i = blockIdx.x * ELT_THREADS + threadIdx.x;
    if (i < p.count) {
        out[i] = a[i] + b[i];
    }
}
