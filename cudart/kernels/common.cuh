// metalgraph CUDA kernels: shared definitions. kernels.go puts this file
// first and the .cu files after it into one source that NVRTC compiles.
//
// Conventions (cudart/geometry.go computes the launches that match):
// an entry point takes one pointer per binding of its plan contract, in
// the contract's order (const for read roles), then the contract's
// parameter struct by value. Weights are raw GGUF rows read natively,
// activations are float, KV caches float or half. No headers: NVRTC needs
// none of the toolkit's.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef u16 half_t; // IEEE half, converted with PTX cvt

// ---- parameter structs: plan/params.go, same fields in the same order ----

struct StepParams {
    int pos0;
    int n;
    int kv_len;
    int pad;
};

struct EmbedParams {
    int dim;
    int vocab;
    int n;
};

struct NormParams {
    int dim;
    int n;
    float eps;
};

struct MatParams {
    int rows;
    int cols;
    int n;
};

struct QKVParams {
    int rows_q;
    int rows_kv;
    int cols;
    int n;
};

struct RopeParams {
    int heads;
    int head_dim;
    int dims;
    int n;
    float base;
    float freq_scale;
};

struct KVParams {
    int width;
    int n;
    int capacity;
};

struct RopeKVParams {
    int heads;
    int kv_heads;
    int head_dim;
    int dims;
    int n;
    int capacity;
    float base;
    float freq_scale;
};

struct AttnParams {
    int heads;
    int kv_heads;
    int head_dim;
    int n;
    int capacity;
    int window;
    float scale;
};

struct EltParams {
    int count;
};

// ---- launch shapes (geometry.go has the same numbers) ----

#define MV_WARPS 4          // warps per mat-vec block
#define MV_ROWS_PER_WARP 2  // weight rows each warp computes
#define MT_TOKENS 8         // tokens per block of the multi-token and tiled forms
#define ATTN_WARPS 8        // warps per attention block
#define FA_WARPS 4          // warps per prefill attention block, 16 queries each
#define FA_KV 32            // cache rows a prefill attention block stages at a time
#define ATTN_MAX_DIM_PER_LANE 8 // head_dim <= 256
#define ELT_THREADS 256     // embed, kv_write, swiglu, add

#define MVQ_WARPS 8         // warps per block of the int8 mat-vec (Q4_0, Q8_0, N = 1)
#define MVQ_ROWS_PER_WARP 2 // weight rows each of its warps computes
#define MVQ_TILE_BLOCKS 256 // 32-column activation blocks it quantises into shared memory at a time
#define MMQ_WARPS 8         // warps per block of the tensor-core matmuls (Q6_K: 16 rows each)
#define MMQ_TOKENS 32       // tokens per block of Q6_K's
#define MMQT_ROWS 128       // weight rows per block of the staged tensor-core matmuls (mmforms.cu; gate_up: 64 of each)
#define MMQT_TOKENS 64      // tokens per block of it (MMQ_THREADS threads)

#define MV_THREADS (MV_WARPS * 32)
#define MV_ROWS (MV_WARPS * MV_ROWS_PER_WARP)
#define MVQ_THREADS (MVQ_WARPS * 32)
#define MMQ_THREADS (MMQ_WARPS * 32)
#define MMQ_ROWS (MMQ_WARPS * 16)
#define MVQ_ROWS (MVQ_WARPS * MVQ_ROWS_PER_WARP)

// ---- scalar helpers ----

#ifdef CUDART_EMULATION
// The CPU emulation (emulator/cuda_emulation.h) converts with _Float16 and
// gives a block's dynamic shared memory by pointer.
__device__ __forceinline__ float h2f(half_t h) { return emu_h2f(h); }
__device__ __forceinline__ half_t f2h(float f) { return emu_f2h(f); }
#define DYNAMIC_SHARED(type, name) type *name = (type *)emu_dynamic_shared()
#else
__device__ __forceinline__ float h2f(half_t h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ half_t f2h(float f) {
    half_t h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

// F4 is four floats read with one 16-byte load.
struct alignas(16) F4 {
    float x, y, z, w;
};

// I4 is four ints read with one 16-byte load.
struct alignas(16) I4 {
    int x, y, z, w;
};

__device__ __forceinline__ float bf2f(u16 h) { return __uint_as_float(u32(h) << 16); }

// Cache element access: float caches as they are, half caches rounded to
// nearest even, as the CPU runtime rounds.
__device__ __forceinline__ float tof(float v) { return v; }
__device__ __forceinline__ float tof(half_t v) { return h2f(v); }
template <typename C> __device__ __forceinline__ C fromf(float v);
template <> __device__ __forceinline__ float fromf<float>(float v) { return v; }
template <> __device__ __forceinline__ half_t fromf<half_t>(float v) { return f2h(v); }

#define NEG_INF __int_as_float(0xff800000)
#define QNAN __int_as_float(0x7fc00000)

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

#ifndef CUDART_EMULATION
__device__ __forceinline__ int f2i_rn(float v) { return __float2int_rn(v); }

// mma_s8: c += A·B on the tensor cores for one warp, A 16×32 int8
// (row-major), B 32×8 int8 (column-major), in the fragments of PTX's
// mma.m16n8k32 (lane = 4·group + t: a[0] row group, columns 4t..4t+3;
// a[1] row group+8; a[2], a[3] the same 16 columns on; b[0] column
// group, rows 4t..; b[1] rows 16+4t..; c[i] row group + 8·(i/2), column
// 2t + i%2). The emulation computes the same from the lanes' fragments.
__device__ __forceinline__ void mma_s8(int (&c)[4], const int (&a)[4], const int (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// mma_s8_k16: the same for A 16×16 and B 16×8 (m16n8k16): a[0] row group,
// columns 4t..4t+3, a[1] row group+8; b rows 4t.., column group.
__device__ __forceinline__ void mma_s8_k16(int (&c)[4], const int (&a)[2], int b) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5}, {%6}, "
                 "{%0, %1, %2, %3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(b));
}

// mma_f16: c += A·B, A 16×16 half (row-major), B 16×8 half (column-major),
// sums in float (mma.m16n8k16; each register two halves, the lower index
// in the low bits): a[0] row group, columns 2t, 2t+1; a[1] row group+8;
// a[2], a[3] the same at columns 8 on; b[0] rows 2t, 2t+1, column group;
// b[1] rows 8 on; c as mma_s8's.
__device__ __forceinline__ void mma_f16(float (&c)[4], const u32 (&a)[4], const u32 (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// tf32_bits is v rounded to TF32 (10 mantissa bits, nearest, ties away),
// as mma_tf32 reads it.
__device__ __forceinline__ u32 tf32_bits(float v) {
    u32 r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return r;
}

// mma_tf32: c += A·B, A 16×8 TF32 (row-major), B 8×8 (column-major), sums
// in float (mma.m16n8k8): a[0] row group, column t; a[1] row group+8;
// a[2], a[3] the same at column t+4; b[0] row t, column group; b[1] row
// t+4; c as mma_s8's.
__device__ __forceinline__ void mma_tf32(float (&c)[4], const u32 (&a)[4], const u32 (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

// Integer MMA sums start from MMA_BIAS, the bits of the float 1.5·2^23:
// while |sum| < 2^22 the float with the resulting bits is 1.5·2^23 + sum
// exactly, and one subtraction (mma_sum) gives the sum as a float without
// a conversion, which runs at a quarter of the FADD rate on the GPU.
#define MMA_BIAS 0x4B400000
#define MMA_BIAS_F 12582912.0f
__device__ __forceinline__ float mma_sum(int c) { return __int_as_float(c) - MMA_BIAS_F; }

// rne_byte is the low byte of v rounded half to even (|v| < 2^22), the
// int8 of a quantised value when |v| ≤ 127: adding 1.5·2^23 rounds it (as
// f2i_rn would) into the low bits, again without a conversion.
__device__ __forceinline__ int rne_byte(float v) { return __float_as_int(__fadd_rn(v, MMA_BIAS_F)) & 0xff; }

#ifndef CUDART_EMULATION // the emulation reduces a warp in one exchange, in this order
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}
#endif

// ld16 reads 16 bytes at an even address as 8 aligned u16 loads, through
// the read-only cache.
__device__ __forceinline__ void ld16(const u8 *p, u8 *b) {
    const u16 *u = (const u16 *)p;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        u16 v = __ldg(u + i);
        b[2 * i] = u8(v & 0xff);
        b[2 * i + 1] = u8(v >> 8);
    }
}

// ld32 reads 32 bytes at an even address.
__device__ __forceinline__ void ld32(const u8 *p, u8 *b) {
    ld16(p, b);
    ld16(p + 16, b + 16);
}

// ---- GGUF blocks, byte offsets as ggml lays them out ----
//
// A decoder reads chunk c (columns 32c .. 32c+31) of one weight row into
// 32 floats, zero past cols: row_bytes(cols) is the row's size.
// Quantised rows hold whole blocks (geometry.go refuses others).

// The float decoders read a whole chunk in 16-byte loads where it is
// 16-byte aligned (a quarter of the load instructions of F32's floats, an
// eighth of F16's halves: the float mat-vec's decode is bound by them),
// else element by element.
struct DecF32 {
    static __device__ u64 row_bytes(int cols) { return u64(cols) * 4; }
    static __device__ void load32(const u8 *row, int c, int cols, float *w) {
        const float *r = (const float *)row + 32 * c;
        const int n = min(32, cols - 32 * c);
        if (n == 32 && (u64(r) & 15) == 0) {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                const F4 v = ((const F4 *)r)[i];
                w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
            }
            return;
        }
#pragma unroll
        for (int i = 0; i < 32; i++) {
            w[i] = i < n ? __ldg(r + i) : 0.0f;
        }
    }
};

// ld_halves16 reads 16 halves (or bfloat16s) from a 16-byte aligned
// address into h, as the low and high halves of 8 words.
__device__ __forceinline__ void ld_halves16(const u16 *p, u32 (&h)[8]) {
    const I4 a = ((const I4 *)p)[0], b = ((const I4 *)p)[1];
    h[0] = u32(a.x), h[1] = u32(a.y), h[2] = u32(a.z), h[3] = u32(a.w);
    h[4] = u32(b.x), h[5] = u32(b.y), h[6] = u32(b.z), h[7] = u32(b.w);
}

// load_halves32 decodes chunk c of a row of 16-bit floats with conv.
template <typename Conv>
__device__ __forceinline__ void load_halves32(const u8 *row, int c, int cols, float *w, Conv conv) {
    const u16 *r = (const u16 *)row + 32 * c;
    const int n = min(32, cols - 32 * c);
    if (n == 32 && (u64(r) & 15) == 0) {
#pragma unroll
        for (int k = 0; k < 2; k++) {
            u32 h[8];
            ld_halves16(r + 16 * k, h);
#pragma unroll
            for (int i = 0; i < 8; i++) {
                w[16 * k + 2 * i] = conv(u16(h[i]));
                w[16 * k + 2 * i + 1] = conv(u16(h[i] >> 16));
            }
        }
        return;
    }
#pragma unroll
    for (int i = 0; i < 32; i++) {
        w[i] = i < n ? conv(__ldg(r + i)) : 0.0f;
    }
}

struct DecF16 {
    static __device__ u64 row_bytes(int cols) { return u64(cols) * 2; }
    static __device__ void load32(const u8 *row, int c, int cols, float *w) {
        load_halves32(row, c, cols, w, [](u16 h) { return h2f(h); });
    }
};

struct DecBF16 {
    static __device__ u64 row_bytes(int cols) { return u64(cols) * 2; }
    static __device__ void load32(const u8 *row, int c, int cols, float *w) {
        load_halves32(row, c, cols, w, [](u16 h) { return bf2f(h); });
    }
};

// Q4_0 (18 bytes): half d, then element i in the low nibble of qs[i] and
// element i+16 in its high nibble: w = d·(q − 8).
struct DecQ4_0 {
    static __device__ u64 row_bytes(int cols) { return u64(cols / 32) * 18; }
    static __device__ void load32(const u8 *row, int c, int, float *w) {
        const u8 *b = row + 18 * u64(c);
        const float d = h2f(__ldg((const u16 *)b));
        u8 q[16];
        ld16(b + 2, q);
#pragma unroll
        for (int i = 0; i < 16; i++) {
            w[i] = float(int(q[i] & 0xf) - 8) * d;
            w[i + 16] = float(int(q[i] >> 4) - 8) * d;
        }
    }
};

// Q8_0 (34 bytes): half d, 32 int8: w = d·q.
struct DecQ8_0 {
    static __device__ u64 row_bytes(int cols) { return u64(cols / 32) * 34; }
    static __device__ void load32(const u8 *row, int c, int, float *w) {
        const u8 *b = row + 34 * u64(c);
        const float d = h2f(__ldg((const u16 *)b));
        u8 q[32];
        ld32(b + 2, q);
#pragma unroll
        for (int i = 0; i < 32; i++) {
            w[i] = float((signed char)q[i]) * d;
        }
    }
};

// scale_min_k4 unpacks the 6-bit scale and min of sub-block j of a Q4_K or
// Q5_K super-block.
__device__ __forceinline__ void scale_min_k4(int j, const u8 *s, int &sc, int &m) {
    if (j < 4) {
        sc = __ldg(s + j) & 63;
        m = __ldg(s + j + 4) & 63;
    } else {
        sc = (__ldg(s + j + 4) & 0xf) | ((__ldg(s + j - 4) >> 6) << 4);
        m = (__ldg(s + j + 4) >> 4) | ((__ldg(s + j) >> 6) << 4);
    }
}

// Q4_K (144 bytes: d, dmin, 12 scale bytes, 128 qs): sub-block j (32
// elements) is the low (j even) or high nibble of qs[32(j/2)..]:
// w = d·sc·q − dmin·m.
struct DecQ4_K {
    static __device__ u64 row_bytes(int cols) { return u64(cols / 256) * 144; }
    static __device__ void load32(const u8 *row, int c, int, float *w) {
        const u8 *b = row + 144 * u64(c / 8);
        const int j = c % 8;
        int sc, m;
        scale_min_k4(j, b + 4, sc, m);
        const float dl = h2f(__ldg((const u16 *)b)) * float(sc);
        const float ml = h2f(__ldg((const u16 *)b + 1)) * float(m);
        u8 q[32];
        ld32(b + 16 + 32 * (j / 2), q);
        const int shift = (j & 1) ? 4 : 0;
#pragma unroll
        for (int i = 0; i < 32; i++) {
            w[i] = dl * float((q[i] >> shift) & 0xf) - ml;
        }
    }
};

// Q5_K (176 bytes: d, dmin, 12 scale bytes, 32 qh, 128 qs): Q4_K plus a
// fifth bit, bit j of qh[i].
struct DecQ5_K {
    static __device__ u64 row_bytes(int cols) { return u64(cols / 256) * 176; }
    static __device__ void load32(const u8 *row, int c, int, float *w) {
        const u8 *b = row + 176 * u64(c / 8);
        const int j = c % 8;
        int sc, m;
        scale_min_k4(j, b + 4, sc, m);
        const float dl = h2f(__ldg((const u16 *)b)) * float(sc);
        const float ml = h2f(__ldg((const u16 *)b + 1)) * float(m);
        u8 q[32], hi[32];
        ld32(b + 48 + 32 * (j / 2), q);
        ld32(b + 16, hi);
        const int shift = (j & 1) ? 4 : 0;
#pragma unroll
        for (int i = 0; i < 32; i++) {
            w[i] = dl * float(((q[i] >> shift) & 0xf) | (((hi[i] >> j) & 1) << 4)) - ml;
        }
    }
};

// Q6_K (210 bytes: 128 ql, 64 qh, 16 int8 scales, d): half h = j/4 of the
// super-block, quarter k = j%4: low (k < 2) or high nibble of
// ql[64h + 32(k&1) + i], bits 2k of qh[32h + i], scale
// scales[8h + i/16 + 2k]: w = d·sc·(q − 32).
struct DecQ6_K {
    static __device__ u64 row_bytes(int cols) { return u64(cols / 256) * 210; }
    static __device__ void load32(const u8 *row, int c, int, float *w) {
        const u8 *b = row + 210 * u64(c / 8);
        const int j = c % 8, h = j / 4, k = j % 4;
        const float d = h2f(__ldg((const u16 *)(b + 208)));
        const float d0 = d * float((signed char)__ldg(b + 192 + 8 * h + 2 * k));
        const float d1 = d * float((signed char)__ldg(b + 192 + 8 * h + 1 + 2 * k));
        u8 lo[32], hi[32];
        ld32(b + 64 * h + 32 * (k & 1), lo);
        ld32(b + 128 + 32 * h, hi);
        const int ls = k >= 2 ? 4 : 0, hs = 2 * k;
#pragma unroll
        for (int i = 0; i < 32; i++) {
            const int q = int(((lo[i] >> ls) & 0xf) | (((hi[i] >> hs) & 3) << 4)) - 32;
            w[i] = (i < 16 ? d0 : d1) * float(q);
        }
    }
};
