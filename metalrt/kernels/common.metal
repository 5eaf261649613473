// metalgraph MSL kernels: shared definitions. kernels.go puts this file
// first and the other kernel files after it into one library source.
//
// Conventions (metalrt/geometry.go computes the launches that match):
// binding i of a plan contract is [[buffer(i)]], its parameter struct is at
// [[buffer(number of bindings)]], weights are raw GGUF rows read natively,
// activations are float, KV caches float or half.

#include <metal_stdlib>
using namespace metal;

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

#define MV_SIMDGROUPS 8         // mat-vecs (rows per simdgroup: MvShape)
#define MT_MAX_N 8              // tokens of a multi-token mat-vec
#define MV_MEMORY 32768         // mat-vecs: threadgroup memory they may fill
#define MM_ROWS 64              // tiled: weight rows per tile
#define MM_TOKENS 32            // tiled: tokens per tile
#define MM_K 32                 // tiled: columns per step
#define MM_THREADS 128          // tiled: 4 simdgroups
#define ATTN_BLOCK 32           // KV positions per block
#define ATTN_MAX_DIM_PER_LANE 8 // head_dim ≤ 256
#define ELT_THREADS 256         // embed, kv_write, swiglu, add

// ---- GGUF blocks, byte for byte as ggml lays them out ----

struct block_q4_0 {
    half d;
    uchar qs[16]; // element i in the low nibble of qs[i], i+16 in the high
};
static_assert(sizeof(block_q4_0) == 18, "Q4_0 block is 18 bytes");

struct block_q8_0 {
    half d;
    char qs[32];
};
static_assert(sizeof(block_q8_0) == 34, "Q8_0 block is 34 bytes");

struct block_q4_k {
    half d;
    half dmin;
    uchar scales[12]; // 8 six-bit scales and mins, packed
    uchar qs[128];
};
static_assert(sizeof(block_q4_k) == 144, "Q4_K block is 144 bytes");

struct block_q5_k {
    half d;
    half dmin;
    uchar scales[12];
    uchar qh[32]; // fifth bit of sub-block j in bit j
    uchar qs[128];
};
static_assert(sizeof(block_q5_k) == 176, "Q5_K block is 176 bytes");

struct block_q6_k {
    uchar ql[128]; // low four bits
    uchar qh[64];  // high two bits
    char scales[16];
    half d;
};
static_assert(sizeof(block_q6_k) == 210, "Q6_K block is 210 bytes");

// ---- scalar helpers ----

inline float bf16_to_float(ushort h) { return as_type<float>(uint(h) << 16); }

inline float silu(float x) { return x / (1.0f + exp(-x)); }

// bytes16 reads 16 bytes at an even address as 8 aligned ushort loads.
inline void bytes16(device const uchar *p, thread uchar *b) {
    device const ushort *u = (device const ushort *)p;
    for (short i = 0; i < 8; i++) {
        ushort v = u[i];
        b[2 * i] = uchar(v & 0xff);
        b[2 * i + 1] = uchar(v >> 8);
    }
}

// scale_min_k4 unpacks the 6-bit scale (x) and min (y) of sub-block j of a
// Q4_K/Q5_K super-block.
template <typename P> inline uchar2 scale_min_k4(int j, P s) {
    if (j < 4) {
        return uchar2(uchar(s[j] & 63), uchar(s[j + 4] & 63));
    }
    return uchar2(uchar((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4)), uchar((s[j + 4] >> 4) | ((s[j] >> 6) << 4)));
}

// stage_x copies columns c0..c0+tile of n activation rows (cols long)
// into shm, row t at t·tile, zero past cols: the threads of the
// threadgroup (nt of them) load contiguous float4s, once for all its
// simdgroups. The mat-vec kernels then read their chunks from shm.
inline void stage_x(device const float *x, int cols, int n, int c0, int tile, ushort tid, int nt,
                    threadgroup float *shm) {
    for (int i = tid; i < n * (tile / 4); i += nt) {
        const int t = i / (tile / 4), e = 4 * (i % (tile / 4)), c = c0 + e;
        device const float *xr = x + ulong(t) * cols;
        float4 v;
        if (c + 4 <= cols) {
            v = float4(*(device const packed_float4 *)(xr + c));
        } else {
            v = float4(c < cols ? xr[c] : 0.0f, c + 1 < cols ? xr[c + 1] : 0.0f, c + 2 < cols ? xr[c + 2] : 0.0f, 0.0f);
        }
        *(threadgroup float4 *)(shm + t * tile + e) = v;
    }
}

// tile_x16 reads 16 staged activations and returns the sums of the first
// and of the last 8.
inline float2 tile_x16(threadgroup const float *x, thread float *v) {
    float sum[2] = {0.0f, 0.0f};
    for (short i = 0; i < 4; i++) {
        const float4 f = *(threadgroup const float4 *)(x + 4 * i);
        v[4 * i] = f.x;
        v[4 * i + 1] = f.y;
        v[4 * i + 2] = f.z;
        v[4 * i + 3] = f.w;
        sum[i / 2] += f.x + f.y + f.z + f.w;
    }
    return float2(sum[0], sum[1]);
}

// Nibble pairs, as llama.cpp reads Q4_0 and Q4_K: a lane takes 8 bytes of
// qs as 4 ushorts and uses both nibbles of each byte: ushort i holds
// elements 2i, 2i+1 of a low run (low nibbles, masks 0x000F, 0x0F00) and of
// a high run (high nibbles, 0x00F0, 0xF000). nibble_x reads the 8
// activations of each run (lo, lo + 8 ... and hi ...) pre-scaled by the
// inverse of each mask's power of 2, so nibble_dot masks without shifting;
// it returns the runs' unscaled sums.
inline float2 nibble_x(threadgroup const float *x, int lo, int hi, thread float *v) {
    threadgroup const float4 *pl = (threadgroup const float4 *)(x + lo), *ph = (threadgroup const float4 *)(x + hi);
    float2 sum = float2(0.0f, 0.0f);
    for (short i = 0; i < 2; i++) {
        const float4 l = pl[i], h = ph[i];
        sum.x += l.x + l.y + l.z + l.w;
        sum.y += h.x + h.y + h.z + h.w;
        v[4 * i] = l.x;
        v[4 * i + 1] = l.y / 256.0f;
        v[4 * i + 2] = l.z;
        v[4 * i + 3] = l.w / 256.0f;
        v[8 + 4 * i] = h.x / 16.0f;
        v[8 + 4 * i + 1] = h.y / 4096.0f;
        v[8 + 4 * i + 2] = h.z / 16.0f;
        v[8 + 4 * i + 3] = h.w / 4096.0f;
    }
    return sum;
}

// nibble_dot is (Σ low nibble·x, Σ high nibble·x) of the 8 bytes at q.
inline float2 nibble_dot(threadgroup const ushort *q, thread const float *v) {
    float2 s = float2(0.0f, 0.0f);
    for (short i = 0; i < 4; i++) {
        const ushort u = q[i];
        s.x += v[2 * i] * float(u & 0x000F) + v[2 * i + 1] * float(u & 0x0F00);
        s.y += v[8 + 2 * i] * float(u & 0x00F0) + v[9 + 2 * i] * float(u & 0xF000);
    }
    return s;
}

// pair_x reads the runs of 8 activations at lo and hi unscaled, in
// nibble_x's order, for weights decoded whole (mv_decode).
inline void pair_x(threadgroup const float *x, int lo, int hi, thread float *v) {
    threadgroup const float4 *pl = (threadgroup const float4 *)(x + lo), *ph = (threadgroup const float4 *)(x + hi);
    for (short i = 0; i < 2; i++) {
        const float4 l = pl[i], h = ph[i];
        v[4 * i] = l.x;
        v[4 * i + 1] = l.y;
        v[4 * i + 2] = l.z;
        v[4 * i + 3] = l.w;
        v[8 + 4 * i] = h.x;
        v[8 + 4 * i + 1] = h.y;
        v[8 + 4 * i + 2] = h.z;
        v[8 + 4 * i + 3] = h.w;
    }
}

// nibbles16 unpacks the 8 bytes at q into their low nibbles (w[0..7]) and
// high nibbles (w[8..15]), in nibble_x's order.
inline void nibbles16(threadgroup const ushort *q, thread float *w) {
    for (short i = 0; i < 4; i++) {
        const ushort u = q[i];
        w[2 * i] = float(u & 0xF);
        w[2 * i + 1] = float((u >> 8) & 0xF);
        w[8 + 2 * i] = float((u >> 4) & 0xF);
        w[9 + 2 * i] = float(u >> 12);
    }
}

// ---- weight row decoders ----
//
// Each decoder reads one row of its type natively. col is always a multiple
// of 16; cols (the row length) only matters to the float types, whose rows
// need not be whole chunks: quantised rows hold whole blocks (geometry.go
// refuses others).
//   row_bytes(cols)             bytes of one row
//   mv_cols, mv_seg             columns of a mat-vec tile (whole blocks,
//                               32-byte sectors where memory allows) and
//                               their bytes
//   mv_rows                     weight rows per mat-vec simdgroup: enough
//                               that 8 simdgroups read the activations for
//                               under a tenth of the weight bytes (even,
//                               for the gate_up form)
//   load_x(x, col, v)           the activations of chunk col in the order
//                               dot16 takes them, from a staged tile
//                               (stage_x) whose column 0 is a multiple of
//                               mv_cols; returns the sums of its two runs of 8
//   dot16(row, col, cols, v, vsum)
//                               the chunk's Σ w·x, v and vsum from load_x,
//                               row the raw bytes of a mat-vec tile staged
//                               in threadgroup memory, col and cols (the
//                               tile's columns) counted from its start
//   mv_decode(row, col, cols, w)
//                               the chunk's 16 weights as floats (0 past
//                               cols) from a staged tile, in the order of
//                               mv_x's activations: a multi-token mat-vec
//                               decodes a chunk once for all its tokens
//   mv_x(x, col, v)             load_x's activations, unscaled
//   load16(row, col, cols, w)   w[i] = weight col+i as float (0 past cols)
// A chunk is columns col..col+15 unless the decoder says otherwise.
// tile_t is the type of the weight tile of the tiled mat-mat: half where
// the dequantised weights are (close to) exact in half, float otherwise.

// DecChunk16 is load_x and mv_x for decoders whose chunk is 16
// consecutive columns.
struct DecChunk16 {
    static float2 load_x(threadgroup const float *x, int col, thread float *v) { return tile_x16(x + col, v); }
    static void mv_x(threadgroup const float *x, int col, thread float *v) { tile_x16(x + col, v); }
};

// float_dot16 is the float decoders' dot16: F::elem(row, i) is element i
// of a staged row.
template <typename F>
inline float float_dot16(threadgroup const uchar *row, int col, int cols, thread const float *x) {
    float s = 0.0f;
    if (col + 16 <= cols) {
        for (short i = 0; i < 16; i++) {
            s += F::elem(row, col + i) * x[i];
        }
        return s;
    }
    for (short i = 0; i < 16 && col + i < cols; i++) {
        s += F::elem(row, col + i) * x[i];
    }
    return s;
}

// float_decode16 is the float decoders' mv_decode.
template <typename F>
inline void float_decode16(threadgroup const uchar *row, int col, int cols, thread float *w) {
    for (short i = 0; i < 16; i++) {
        w[i] = col + i < cols ? F::elem(row, col + i) : 0.0f;
    }
}

struct DecF32 : DecChunk16 {
    typedef float tile_t;
    enum { mv_cols = 64, mv_rows = 10, mv_seg = mv_cols * 4 };
    static ulong row_bytes(int cols) { return ulong(cols) * 4; }
    static void load16(device const uchar *row, int col, int cols, thread float *w) {
        device const float *r = (device const float *)row + col;
        if (col + 16 <= cols) {
            device const packed_float4 *p = (device const packed_float4 *)r;
            for (short i = 0; i < 4; i++) {
                float4 f = float4(p[i]);
                w[4 * i] = f.x;
                w[4 * i + 1] = f.y;
                w[4 * i + 2] = f.z;
                w[4 * i + 3] = f.w;
            }
            return;
        }
        for (short i = 0; i < 16; i++) {
            w[i] = col + i < cols ? r[i] : 0.0f;
        }
    }
    static float elem(threadgroup const uchar *row, int i) { return ((threadgroup const float *)row)[i]; }
    static float dot16(threadgroup const uchar *row, int col, int cols, thread const float *x, float2) {
        return float_dot16<DecF32>(row, col, cols, x);
    }
    static void mv_decode(threadgroup const uchar *row, int col, int cols, thread float *w) {
        float_decode16<DecF32>(row, col, cols, w);
    }
};

struct DecF16 : DecChunk16 {
    typedef half tile_t;
    enum { mv_cols = 128, mv_rows = 10, mv_seg = mv_cols * 2 };
    static ulong row_bytes(int cols) { return ulong(cols) * 2; }
    static void load16(device const uchar *row, int col, int cols, thread float *w) {
        device const half *r = (device const half *)row + col;
        if (col + 16 <= cols) {
            device const packed_half4 *p = (device const packed_half4 *)r;
            for (short i = 0; i < 4; i++) {
                float4 f = float4(half4(p[i]));
                w[4 * i] = f.x;
                w[4 * i + 1] = f.y;
                w[4 * i + 2] = f.z;
                w[4 * i + 3] = f.w;
            }
            return;
        }
        for (short i = 0; i < 16; i++) {
            w[i] = col + i < cols ? float(r[i]) : 0.0f;
        }
    }
    static float elem(threadgroup const uchar *row, int i) { return float(((threadgroup const half *)row)[i]); }
    static float dot16(threadgroup const uchar *row, int col, int cols, thread const float *x, float2) {
        return float_dot16<DecF16>(row, col, cols, x);
    }
    static void mv_decode(threadgroup const uchar *row, int col, int cols, thread float *w) {
        float_decode16<DecF16>(row, col, cols, w);
    }
};

struct DecBF16 : DecChunk16 {
    typedef float tile_t; // half's range and precision differ from bfloat16
    enum { mv_cols = 128, mv_rows = 10, mv_seg = mv_cols * 2 };
    static ulong row_bytes(int cols) { return ulong(cols) * 2; }
    static void load16(device const uchar *row, int col, int cols, thread float *w) {
        device const ushort *r = (device const ushort *)row + col;
        if (col + 16 <= cols) {
            device const packed_ushort4 *p = (device const packed_ushort4 *)r;
            for (short i = 0; i < 4; i++) {
                ushort4 u = ushort4(p[i]);
                w[4 * i] = bf16_to_float(u.x);
                w[4 * i + 1] = bf16_to_float(u.y);
                w[4 * i + 2] = bf16_to_float(u.z);
                w[4 * i + 3] = bf16_to_float(u.w);
            }
            return;
        }
        for (short i = 0; i < 16; i++) {
            w[i] = col + i < cols ? bf16_to_float(r[i]) : 0.0f;
        }
    }
    static float elem(threadgroup const uchar *row, int i) { return bf16_to_float(((threadgroup const ushort *)row)[i]); }
    static float dot16(threadgroup const uchar *row, int col, int cols, thread const float *x, float2) {
        return float_dot16<DecBF16>(row, col, cols, x);
    }
    static void mv_decode(threadgroup const uchar *row, int col, int cols, thread float *w) {
        float_decode16<DecBF16>(row, col, cols, w);
    }
};

// Q4_0: load16's chunk of 16 is the low (first half) or high nibbles of
// qs. In a mat-vec (load_x, dot16) chunk c is instead half h = c % 2 of
// block c / 2, as in llama.cpp: nibble pairs of qs[8h..8h+7], elements
// 8h.. (low) and 16+8h.. (high); the −8 of every weight folds into −8·Σx.
struct DecQ4_0 {
    typedef half tile_t;
    enum { mv_cols = 512, mv_rows = 10, mv_seg = mv_cols / 32 * sizeof(block_q4_0) };
    static ulong row_bytes(int cols) { return ulong(cols / 32) * sizeof(block_q4_0); }
    static void load16(device const uchar *row, int col, int, thread float *w) {
        device const block_q4_0 *b = (device const block_q4_0 *)row + col / 32;
        const float d = float(b->d);
        const uchar shift = (col % 32) >= 16 ? 4 : 0;
        uchar q[16];
        bytes16(b->qs, q);
        for (short i = 0; i < 16; i++) {
            w[i] = float(int((q[i] >> shift) & 0xf) - 8) * d;
        }
    }
    static int mv_lo(int col) { return 32 * (col / 32) + 8 * ((col / 16) % 2); }
    static float2 load_x(threadgroup const float *x, int col, thread float *v) {
        return nibble_x(x, mv_lo(col), mv_lo(col) + 16, v);
    }
    static void mv_x(threadgroup const float *x, int col, thread float *v) { pair_x(x, mv_lo(col), mv_lo(col) + 16, v); }
    static float dot16(threadgroup const uchar *row, int col, int, thread const float *x, float2 xsum) {
        threadgroup const block_q4_0 *b = (threadgroup const block_q4_0 *)row + col / 32;
        const float2 s = nibble_dot((threadgroup const ushort *)(b->qs + 8 * ((col / 16) % 2)), x);
        return float(b->d) * (s.x + s.y - 8.0f * (xsum.x + xsum.y));
    }
    static void mv_decode(threadgroup const uchar *row, int col, int, thread float *w) {
        threadgroup const block_q4_0 *b = (threadgroup const block_q4_0 *)row + col / 32;
        nibbles16((threadgroup const ushort *)(b->qs + 8 * ((col / 16) % 2)), w);
        const float d = float(b->d);
        for (short i = 0; i < 16; i++) {
            w[i] = d * (w[i] - 8.0f);
        }
    }
};

struct DecQ8_0 : DecChunk16 {
    typedef half tile_t;
    enum { mv_cols = 512, mv_rows = 6, mv_seg = mv_cols / 32 * sizeof(block_q8_0) };
    static ulong row_bytes(int cols) { return ulong(cols / 32) * sizeof(block_q8_0); }
    static void load16(device const uchar *row, int col, int, thread float *w) {
        device const block_q8_0 *b = (device const block_q8_0 *)row + col / 32;
        const float d = float(b->d);
        uchar q[16];
        bytes16((device const uchar *)b->qs + col % 32, q);
        for (short i = 0; i < 16; i++) {
            w[i] = float(as_type<char>(q[i])) * d;
        }
    }
    static float dot16(threadgroup const uchar *row, int col, int, thread const float *x, float2) {
        threadgroup const block_q8_0 *b = (threadgroup const block_q8_0 *)row + col / 32;
        threadgroup const char *q = b->qs + col % 32;
        float s = 0.0f;
        for (short i = 0; i < 16; i++) {
            s += float(q[i]) * x[i];
        }
        return float(b->d) * s;
    }
    static void mv_decode(threadgroup const uchar *row, int col, int, thread float *w) {
        threadgroup const block_q8_0 *b = (threadgroup const block_q8_0 *)row + col / 32;
        threadgroup const char *q = b->qs + col % 32;
        const float d = float(b->d);
        for (short i = 0; i < 16; i++) {
            w[i] = d * float(q[i]);
        }
    }
};

// Q4_K: element e of a super-block is in group j = e/64; its first 32 are
// the low nibbles of qs[32j..], the next 32 the high nibbles, sub-blocks 2j
// and 2j+1 with their own scale and min: w = d·sc·q − dmin·m.
//
// In a mat-vec (load_x, dot16) chunk k of a super-block is instead the
// nibble pairs of qs[32j + 8m..], j = k / 4, m = k % 4: elements 8m.. of
// sub-blocks 2j (low) and 2j+1 (high), as in llama.cpp.
struct KQuantNibbles {
    static int group(int col) { return (col % 256) / 64; }
    static int byte(int col) { return 32 * group(col) + 8 * ((col % 64) / 16); }
    static int mv_lo(int col) { return 256 * (col / 256) + 64 * group(col) + 8 * ((col % 64) / 16); }
    static float2 load_x(threadgroup const float *x, int col, thread float *v) {
        return nibble_x(x, mv_lo(col), mv_lo(col) + 32, v);
    }
    static void mv_x(threadgroup const float *x, int col, thread float *v) { pair_x(x, mv_lo(col), mv_lo(col) + 32, v); }
    // scales is (d·sc, dmin·m) of the low sub-block, then of the high one;
    // the super-block's header (d, dmin, scales: 16 bytes) is read whole, as
    // 8 ushorts, rather than byte by byte.
    static float4 scales(threadgroup const uchar *block, int j) {
        threadgroup const ushort *h = (threadgroup const ushort *)block;
        ushort u[8];
        for (short i = 0; i < 8; i++) {
            u[i] = h[i];
        }
        uchar sc[12];
        for (short i = 0; i < 6; i++) {
            sc[2 * i] = uchar(u[2 + i] & 0xff);
            sc[2 * i + 1] = uchar(u[2 + i] >> 8);
        }
        const float d = float(as_type<half>(u[0])), dmin = float(as_type<half>(u[1]));
        const uchar2 lo = scale_min_k4(2 * j, (thread const uchar *)sc), hi = scale_min_k4(2 * j + 1, (thread const uchar *)sc);
        return float4(d * float(lo.x), dmin * float(lo.y), d * float(hi.x), dmin * float(hi.y));
    }
    // scaled is d·sc·s − dmin·m·Σx over the low and high sub-blocks.
    static float scaled(threadgroup const uchar *block, int j, float2 s, float2 xsum) {
        const float4 k = scales(block, j);
        return k.x * s.x + k.z * s.y - (k.y * xsum.x + k.w * xsum.y);
    }
    // scale applies scales' (d·sc, dmin·m) to quants q in nibble_x's order.
    static void scale(threadgroup const uchar *block, int j, thread float *q) {
        const float4 k = scales(block, j);
        for (short i = 0; i < 8; i++) {
            q[i] = k.x * q[i] - k.y;
            q[8 + i] = k.z * q[8 + i] - k.w;
        }
    }
};

struct DecQ4_K : KQuantNibbles {
    typedef half tile_t;
    enum { mv_cols = 512, mv_rows = 10, mv_seg = mv_cols / 256 * sizeof(block_q4_k) };
    static ulong row_bytes(int cols) { return ulong(cols / 256) * sizeof(block_q4_k); }
    static void chunk(device const uchar *row, int col, thread uchar *q, thread float &dl, thread float &ml) {
        device const block_q4_k *b = (device const block_q4_k *)row + col / 256;
        const int e = col % 256, j = e / 64, l = e % 64;
        const int sub = 2 * j + (l >= 32 ? 1 : 0);
        const uchar2 sm = scale_min_k4(sub, b->scales);
        dl = float(b->d) * float(sm.x);
        ml = float(b->dmin) * float(sm.y);
        uchar raw[16];
        bytes16(b->qs + 32 * j + l % 32, raw);
        const uchar shift = l >= 32 ? 4 : 0;
        for (short i = 0; i < 16; i++) {
            q[i] = uchar((raw[i] >> shift) & 0xf);
        }
    }
    static void load16(device const uchar *row, int col, int, thread float *w) {
        uchar q[16];
        float dl, ml;
        chunk(row, col, q, dl, ml);
        for (short i = 0; i < 16; i++) {
            w[i] = dl * float(q[i]) - ml;
        }
    }
    static float dot16(threadgroup const uchar *row, int col, int, thread const float *x, float2 xsum) {
        threadgroup const block_q4_k *b = (threadgroup const block_q4_k *)row + col / 256;
        const float2 s = nibble_dot((threadgroup const ushort *)(b->qs + byte(col)), x);
        return scaled((threadgroup const uchar *)b, group(col), s, xsum);
    }
    static void mv_decode(threadgroup const uchar *row, int col, int, thread float *w) {
        threadgroup const block_q4_k *b = (threadgroup const block_q4_k *)row + col / 256;
        nibbles16((threadgroup const ushort *)(b->qs + byte(col)), w);
        scale((threadgroup const uchar *)b, group(col), w);
    }
};

// Q5_K: Q4_K plus a fifth bit per element, bit `sub` of qh[e % 32]; in a
// mat-vec, bits 2j and 2j+1 of qh[8m..8m+7] add 16 to the low and high
// nibbles.
struct DecQ5_K : KQuantNibbles {
    typedef half tile_t;
    enum { mv_cols = 512, mv_rows = 10, mv_seg = mv_cols / 256 * sizeof(block_q5_k) };
    static ulong row_bytes(int cols) { return ulong(cols / 256) * sizeof(block_q5_k); }
    static void chunk(device const uchar *row, int col, thread uchar *q, thread float &dl, thread float &ml) {
        device const block_q5_k *b = (device const block_q5_k *)row + col / 256;
        const int e = col % 256, j = e / 64, l = e % 64;
        const int sub = 2 * j + (l >= 32 ? 1 : 0);
        const uchar2 sm = scale_min_k4(sub, b->scales);
        dl = float(b->d) * float(sm.x);
        ml = float(b->dmin) * float(sm.y);
        uchar raw[16], hi[16];
        bytes16(b->qs + 32 * j + l % 32, raw);
        bytes16(b->qh + l % 32, hi);
        const uchar shift = l >= 32 ? 4 : 0;
        for (short i = 0; i < 16; i++) {
            q[i] = uchar(((raw[i] >> shift) & 0xf) | (((hi[i] >> sub) & 1) << 4));
        }
    }
    static void load16(device const uchar *row, int col, int, thread float *w) {
        uchar q[16];
        float dl, ml;
        chunk(row, col, q, dl, ml);
        for (short i = 0; i < 16; i++) {
            w[i] = dl * float(q[i]) - ml;
        }
    }
    static float dot16(threadgroup const uchar *row, int col, int, thread const float *x, float2 xsum) {
        threadgroup const block_q5_k *b = (threadgroup const block_q5_k *)row + col / 256;
        const int j = group(col);
        float2 s = nibble_dot((threadgroup const ushort *)(b->qs + byte(col)), x);
        // The fifth bits, against nibble_x's scaled activations.
        threadgroup const ushort *qh = (threadgroup const ushort *)(b->qh + 8 * ((col % 64) / 16));
        for (short i = 0; i < 4; i++) {
            const ushort u = qh[i];
            s.x += 16.0f * (x[2 * i] * float((u >> (2 * j)) & 1) + 256.0f * x[2 * i + 1] * float((u >> (8 + 2 * j)) & 1));
            s.y += 16.0f * (16.0f * x[8 + 2 * i] * float((u >> (2 * j + 1)) & 1) +
                            4096.0f * x[9 + 2 * i] * float((u >> (9 + 2 * j)) & 1));
        }
        return scaled((threadgroup const uchar *)b, j, s, xsum);
    }
    static void mv_decode(threadgroup const uchar *row, int col, int, thread float *w) {
        threadgroup const block_q5_k *b = (threadgroup const block_q5_k *)row + col / 256;
        const int j = group(col);
        nibbles16((threadgroup const ushort *)(b->qs + byte(col)), w);
        threadgroup const ushort *qh = (threadgroup const ushort *)(b->qh + 8 * ((col % 64) / 16));
        for (short i = 0; i < 4; i++) {
            const ushort u = qh[i];
            w[2 * i] += 16.0f * float((u >> (2 * j)) & 1);
            w[2 * i + 1] += 16.0f * float((u >> (8 + 2 * j)) & 1);
            w[8 + 2 * i] += 16.0f * float((u >> (2 * j + 1)) & 1);
            w[9 + 2 * i] += 16.0f * float((u >> (9 + 2 * j)) & 1);
        }
        scale((threadgroup const uchar *)b, j, w);
    }
};

// Q6_K: each half h of the super-block (128 elements) has four quarters of
// 32; quarter k takes the low (k < 2) or high nibble of ql[64h + 32(k&1) + l]
// and bits 2k..2k+1 of qh[32h + l]; each 16 share one int8 scale
// scales[8h + l/16 + 2k]: w = d·sc·(q − 32).
//
// load16's chunk is 16 consecutive elements of one quarter, which reads 16
// bytes of ql and 16 of qh for 12 bytes of weights. In a mat-vec
// (load_x, dot16) chunk j of a super-block is instead positions
// l0..l0+3, l0 = 4·(j % 8), of the four quarters of half h = j / 8, as in
// llama.cpp: 4 bytes of each of ql[64h + l0..], ql[64h + 32 + l0..] (low
// nibbles quarters 0 and 1, high ones 2 and 3) and qh[32h + l0..], every
// bit used; and neighbouring lanes' activations are contiguous.
struct DecQ6_K {
    typedef half tile_t;
    enum { mv_cols = 512, mv_rows = 8, mv_seg = mv_cols / 256 * sizeof(block_q6_k) };
    static ulong row_bytes(int cols) { return ulong(cols / 256) * sizeof(block_q6_k); }
    static float chunk(device const uchar *row, int col, thread int *q) {
        device const block_q6_k *b = (device const block_q6_k *)row + col / 256;
        const int e = col % 256, h = e / 128, k = (e % 128) / 32, l = e % 32;
        uchar lo[16], hi[16];
        bytes16(b->ql + 64 * h + 32 * (k & 1) + l, lo);
        bytes16(b->qh + 32 * h + l, hi);
        const uchar lshift = k >= 2 ? 4 : 0, hshift = uchar(2 * k);
        for (short i = 0; i < 16; i++) {
            q[i] = int(((lo[i] >> lshift) & 0xf) | (((hi[i] >> hshift) & 3) << 4)) - 32;
        }
        return float(b->d) * float(b->scales[8 * h + l / 16 + 2 * k]);
    }
    static void load16(device const uchar *row, int col, int, thread float *w) {
        int q[16];
        const float ds = chunk(row, col, q);
        for (short i = 0; i < 16; i++) {
            w[i] = ds * float(q[i]);
        }
    }
    // mv_offset is where chunk col's first element sits in its
    // super-block: 128h + l0, quarter k adding 32k.
    static int mv_offset(int col) {
        const int j = (col % 256) / 16;
        return 128 * (j / 8) + 4 * (j % 8);
    }
    static float2 load_x(threadgroup const float *x, int col, thread float *v) {
        threadgroup const float4 *p = (threadgroup const float4 *)(x + 256 * (col / 256) + mv_offset(col));
        float sum[2] = {0.0f, 0.0f};
        for (short k = 0; k < 4; k++) {
            const float4 f = p[8 * k];
            v[4 * k] = f.x;
            v[4 * k + 1] = f.y;
            v[4 * k + 2] = f.z;
            v[4 * k + 3] = f.w;
            sum[k / 2] += f.x + f.y + f.z + f.w;
        }
        return float2(sum[0], sum[1]);
    }
    static void mv_x(threadgroup const float *x, int col, thread float *v) { load_x(x, col, v); }
    // mv_quants leaves chunk col's quants (q − 32) in load_x's order,
    // quarter k in q[4k..4k+3], and returns where its quarters' int8
    // scales sit: quarter k's at 2k.
    static threadgroup const char *mv_quants(threadgroup const uchar *row, int col, thread float *q) {
        threadgroup const block_q6_k *b = (threadgroup const block_q6_k *)row + col / 256;
        const int o = mv_offset(col), h = o / 128, l0 = o % 128;
        threadgroup const ushort *ql0 = (threadgroup const ushort *)(b->ql + 64 * h + l0);
        threadgroup const ushort *ql1 = (threadgroup const ushort *)(b->ql + 64 * h + 32 + l0);
        threadgroup const ushort *qh = (threadgroup const ushort *)(b->qh + 32 * h + l0);
        const uint a = uint(ql0[0]) | uint(ql0[1]) << 16, c = uint(ql1[0]) | uint(ql1[1]) << 16;
        const uint e = uint(qh[0]) | uint(qh[1]) << 16;
        for (short i = 0; i < 4; i++) {
            const uchar lo0_i = uchar(a >> (8 * i)), lo1_i = uchar(c >> (8 * i)), hi_i = uchar(e >> (8 * i));
            q[i] = float(int((lo0_i & 0xf) | ((hi_i & 3) << 4)) - 32);
            q[4 + i] = float(int((lo1_i & 0xf) | (((hi_i >> 2) & 3) << 4)) - 32);
            q[8 + i] = float(int((lo0_i >> 4) | (((hi_i >> 4) & 3) << 4)) - 32);
            q[12 + i] = float(int((lo1_i >> 4) | (((hi_i >> 6) & 3) << 4)) - 32);
        }
        return b->scales + 8 * h + l0 / 16;
    }
    static float dot16(threadgroup const uchar *row, int col, int, thread const float *x, float2) {
        float q[16];
        threadgroup const char *sc = mv_quants(row, col, q);
        float s[4] = {0.0f, 0.0f, 0.0f, 0.0f}; // per quarter
        for (short k = 0; k < 4; k++) {
            for (short i = 0; i < 4; i++) {
                s[k] += q[4 * k + i] * x[4 * k + i];
            }
        }
        const float d = float(((threadgroup const block_q6_k *)row + col / 256)->d);
        return d * (float(sc[0]) * s[0] + float(sc[2]) * s[1] + float(sc[4]) * s[2] + float(sc[6]) * s[3]);
    }
    static void mv_decode(threadgroup const uchar *row, int col, int, thread float *w) {
        threadgroup const char *sc = mv_quants(row, col, w);
        const float d = float(((threadgroup const block_q6_k *)row + col / 256)->d);
        for (short k = 0; k < 4; k++) {
            const float ds = d * float(sc[2 * k]);
            for (short i = 0; i < 4; i++) {
                w[4 * k + i] *= ds;
            }
        }
    }
};

// ---- mat-vec helpers shared by the three variants ----

// QKVLocal is global row r of a fused Q/K/V projection (Wq rows, then Wk,
// then Wv) in its matrix (0, 1, 2): qkv_local clamps it into Wv past the
// end.
struct QKVLocal {
    int matrix, row;
};

inline QKVLocal qkv_local(int r, constant QKVParams &p) {
    if (r < p.rows_q) {
        return QKVLocal{0, r};
    }
    r -= p.rows_q;
    if (r < p.rows_kv) {
        return QKVLocal{1, r};
    }
    return QKVLocal{2, min(r - p.rows_kv, p.rows_kv - 1)};
}

// qkv_row returns the weight row of global row r of a fused Q/K/V
// projection.
inline device const uchar *qkv_row(device const uchar *wq, device const uchar *wk, device const uchar *wv,
                                   int r, constant QKVParams &p, ulong rb) {
    const QKVLocal m = qkv_local(r, p);
    return (m.matrix == 0 ? wq : m.matrix == 1 ? wk : wv) + rb * ulong(m.row);
}

// qkv_store writes output row r of token t to q, k or v.
inline void qkv_store(device float *q, device float *k, device float *v, int t, int r,
                      constant QKVParams &p, float val) {
    if (r < p.rows_q) {
        q[ulong(t) * p.rows_q + r] = val;
        return;
    }
    r -= p.rows_q;
    if (r < p.rows_kv) {
        k[ulong(t) * p.rows_kv + r] = val;
        return;
    }
    r -= p.rows_kv;
    if (r < p.rows_kv) {
        v[ulong(t) * p.rows_kv + r] = val;
    }
}

// ---- rope ----

// rope_pair rotates (x0, x1), elements 2i and 2i+1 of a head, by position
// pos: theta = pos·freq_scale·base^(−2i/dims) (Llama pairing).
inline float2 rope_pair(float x0, float x1, int pos, int i, int dims, float base, float freq_scale) {
    const float theta = float(pos) * freq_scale * pow(base, -float(2 * i) / float(dims));
    const float s = sin(theta), c = cos(theta);
    return float2(x0 * c - x1 * s, x0 * s + x1 * c);
}
