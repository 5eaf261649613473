// The matmul variant (prefill, N tokens a step) of Q4_0 and Q8_0 weights
// on the tensor cores: each 32-column block of a weight row meets the
// same block of the int8-quantised activations (Q8_0, as the CPU runtime
// and Int8Dot quantise them) in one mma.m16n8k32, whose integer sums are
// scaled by the two blocks' scales, d_w·d_x·Σ q_w·q_x.
//
// A block of MMQ_WARPS warps computes MMQ_ROWS rows × MMQ_TOKENS tokens,
// warp w rows 16·(w%4).. and tokens 16·(w/4).. (two 8-token tiles). It
// walks the columns a tile of MMQ_KT at a time: the block copies its rows'
// weight bytes of the tile into shared memory (consecutive threads,
// consecutive u16: GGUF blocks are 2-byte aligned) and quantises its
// tokens' activations there; each lane then reads its fragments from
// shared memory. Read straight from global memory, the fragments (4
// bytes of 16 rows a load) touched 16 sectors per load and ran at 2-5%
// of the copy bandwidth. The grid runs token blocks fastest, so blocks of
// the same rows share them through L2.

#define MMQ_KTB 8                    // weight blocks (32 columns) per tile
#define MMQ_KT (32 * MMQ_KTB)        // columns per tile
#define MMQ_XSTRIDE (MMQ_KT / 4 + 4) // ints per token: ≡ 4 mod 32, so a fragment's 32 reads hit 32 banks

// mmq_quantise fills q and d with tokens t0 .. t0 + MMQ_TOKENS (zeros past
// n) of x's columns col0 .. col0 + MMQ_KT: a warp takes 4 blocks of one
// token at a time.
__device__ __forceinline__ void mmq_quantise(const float *x, int cols, int t0, int n, int col0, int *q,
                                             float (*d)[MMQ_KTB]) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int end = min(cols, col0 + MMQ_KT);
    const int groups = (end - col0 + 127) / 128;
#pragma unroll 4
    for (int it = warp; it < MMQ_TOKENS * groups; it += MMQ_WARPS) {
        const int tok = it / groups, c = col0 + 128 * (it % groups) + 4 * lane;
        const bool live = c < end && t0 + tok < n;
        float v[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            v[i] = live ? x[u64(t0 + tok) * cols + c + i] : 0.0f;
        }
        float dq;
        int sum;
        const int packed = quant4(v, dq, sum);
        if (c < end) {
            q[tok * MMQ_XSTRIDE + (c - col0) / 4] = packed;
            if (lane % 8 == 0) {
                d[tok][(c - col0) / 32] = dq;
            }
        }
    }
}

// nibbles_s8 turns four nibbles (one per byte) into the signed bytes q − 8.
__device__ __forceinline__ int nibbles_s8(int q) { return int((u32(q) + 0x78787878u) ^ 0x80808080u); }

// ld_int2s reads 4 bytes at a 2-byte aligned address of shared memory.
__device__ __forceinline__ int ld_int2s(const u8 *p) {
    const u16 *u = (const u16 *)p;
    return int(u32(u[0]) | (u32(u[1]) << 16));
}

// An A fragment of Q4_0 or Q8_0 (BYTES a block): block b of the staged
// rows p0 (row group) and p1 (group + 8), lane t's columns, and the two
// rows' scales.
struct MmaQ4_0 {
    static const int BYTES = 18;
    static __device__ __forceinline__ void frag(const u8 *p0, const u8 *p1, int b, int t, int (&a)[4], float (&d)[2]) {
        p0 += BYTES * b;
        p1 += BYTES * b;
        const int q0 = ld_int2s(p0 + 2 + 4 * t), q1 = ld_int2s(p1 + 2 + 4 * t);
        a[0] = nibbles_s8(q0 & 0x0f0f0f0f); // elements 4t..4t+3
        a[1] = nibbles_s8(q1 & 0x0f0f0f0f);
        a[2] = nibbles_s8((q0 >> 4) & 0x0f0f0f0f); // elements 16+4t..
        a[3] = nibbles_s8((q1 >> 4) & 0x0f0f0f0f);
        d[0] = h2f(*(const u16 *)p0);
        d[1] = h2f(*(const u16 *)p1);
    }
};

struct MmaQ8_0 {
    static const int BYTES = 34;
    static __device__ __forceinline__ void frag(const u8 *p0, const u8 *p1, int b, int t, int (&a)[4], float (&d)[2]) {
        p0 += BYTES * b;
        p1 += BYTES * b;
        a[0] = ld_int2s(p0 + 2 + 4 * t);
        a[1] = ld_int2s(p1 + 2 + 4 * t);
        a[2] = ld_int2s(p0 + 18 + 4 * t);
        a[3] = ld_int2s(p1 + 18 + 4 * t);
        d[0] = h2f(*(const u16 *)p0);
        d[1] = h2f(*(const u16 *)p1);
    }
};

template <typename D> struct MmaBlock;
template <> struct MmaBlock<DecQ4_0> { typedef MmaQ4_0 type; };
template <> struct MmaBlock<DecQ8_0> { typedef MmaQ8_0 type; };

// MmqPlace is where a lane's outputs acc[.][j][i] sit: the block's first
// row and token, the warp's, and the lane's row (i < 2: group, else
// group + 8) and token (8j + 2t + i%2 on from the warp's).
struct MmqPlace {
    int rb, tb, r0, t0, g, t;
    __device__ __forceinline__ MmqPlace() {
        const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
        rb = blockIdx.y * MMQ_ROWS;
        tb = blockIdx.x * MMQ_TOKENS;
        r0 = rb + 16 * (warp % 4);
        t0 = tb + 16 * (warp / 4);
        g = lane / 4;
        t = lane % 4;
    }
    __device__ __forceinline__ int row(int i) const { return r0 + g + 8 * (i / 2); }
    __device__ __forceinline__ int tok(int j, int i) const { return t0 + 8 * j + 2 * t + i % 2; }
};

// mmq_tile leaves in acc[w][j][i] the sums of weight matrix w (of NW) at
// the lane's rows and tokens (MmqPlace). row(w, r) is the weight row of
// block row r (clamped to a real row). Every thread of the block calls it.
template <typename D, int NW, typename RowOf>
__device__ __forceinline__ void mmq_tile(const MmqPlace &at, RowOf row, const float *x, int cols, int n,
                                         float (&acc)[NW][2][4]) {
    typedef typename MmaBlock<D>::type W;
    const int SEG = MMQ_KTB * W::BYTES / 2; // u16 of a row's tile
    __shared__ u16 wa[NW][MMQ_ROWS][SEG];
    __shared__ int xq[MMQ_TOKENS * MMQ_XSTRIDE];
    __shared__ float xd[MMQ_TOKENS][MMQ_KTB];
#pragma unroll
    for (int w = 0; w < NW; w++) {
#pragma unroll
        for (int j = 0; j < 2; j++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                acc[w][j][i] = 0.0f;
            }
        }
    }
    const int wr = at.r0 - at.rb, wt = at.t0 - at.tb; // the warp's rows and tokens in the block
    for (int k0 = 0; k0 < cols; k0 += MMQ_KT) {
        const int nb = min(cols - k0, MMQ_KT) / 32;
        __syncthreads(); // every warp is done with the previous tile
#pragma unroll
        for (int w = 0; w < NW; w++) {
#pragma unroll 6
            for (int i = threadIdx.x; i < MMQ_ROWS * SEG; i += MMQ_THREADS) {
                const int r = i / SEG, e = i % SEG;
                if (e < nb * W::BYTES / 2) {
                    wa[w][r][e] = __ldg((const u16 *)(row(w, at.rb + r) + u64(k0 / 32) * W::BYTES) + e);
                }
            }
        }
        mmq_quantise(x, cols, at.tb, n, k0, xq, xd);
        __syncthreads();
#pragma unroll 2
        for (int b = 0; b < nb; b++) {
            int a[NW][4];
            float dw[NW][2];
#pragma unroll
            for (int w = 0; w < NW; w++) {
                W::frag((const u8 *)wa[w][wr + at.g], (const u8 *)wa[w][wr + at.g + 8], b, at.t, a[w], dw[w]);
            }
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int tl = wt + 8 * j;
                const int *q = &xq[(tl + at.g) * MMQ_XSTRIDE + 8 * b + at.t];
                const int bf[2] = {q[0], q[4]};
                const float dx0 = xd[tl + 2 * at.t][b], dx1 = xd[tl + 2 * at.t + 1][b];
#pragma unroll
                for (int w = 0; w < NW; w++) {
                    int c[4] = {0, 0, 0, 0};
                    mma_s8(c, a[w], bf);
                    acc[w][j][0] += float(c[0]) * (dw[w][0] * dx0);
                    acc[w][j][1] += float(c[1]) * (dw[w][0] * dx1);
                    acc[w][j][2] += float(c[2]) * (dw[w][1] * dx0);
                    acc[w][j][3] += float(c[3]) * (dw[w][1] * dx1);
                }
            }
        }
    }
}

template <typename D>
__device__ __forceinline__ void mmq_plain(const u8 *weight, const float *x, const float *residual, float *y,
                                          const MatParams &p) {
    const MmqPlace at;
    const u64 rb = D::row_bytes(p.cols);
    float acc[1][2][4];
    mmq_tile<D, 1>(at, [&](int, int r) { return weight + rb * u64(min(r, p.rows - 1)); }, x, p.cols, p.n, acc);
#pragma unroll
    for (int j = 0; j < 2; j++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int row = at.row(i), tok = at.tok(j, i);
            if (row < p.rows && tok < p.n) {
                const u64 o = u64(tok) * p.rows + row; // one lane reads and writes it: y may be the residual
                y[o] = residual ? residual[o] + acc[0][j][i] : acc[0][j][i];
            }
        }
    }
}

template <typename D>
__device__ __forceinline__ void mmq_qkv(const u8 *wq, const u8 *wk, const u8 *wv, const float *x, float *q, float *k,
                                        float *v, const QKVParams &p) {
    const MmqPlace at;
    const u64 rb = D::row_bytes(p.cols);
    float acc[1][2][4];
    mmq_tile<D, 1>(at, [&](int, int r) { return qkv_row(wq, wk, wv, r, p, rb); }, x, p.cols, p.n, acc);
#pragma unroll
    for (int j = 0; j < 2; j++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            if (at.tok(j, i) < p.n) {
                qkv_store(q, k, v, at.row(i), at.tok(j, i), acc[0][j][i], p);
            }
        }
    }
}

template <typename D>
__device__ __forceinline__ void mmq_gate_up(const u8 *w_gate, const u8 *w_up, const float *x, float *y,
                                            const MatParams &p) {
    const MmqPlace at;
    const u64 rb = D::row_bytes(p.cols);
    float acc[2][2][4];
    mmq_tile<D, 2>(at, [&](int w, int r) { return (w == 0 ? w_gate : w_up) + rb * u64(min(r, p.rows - 1)); }, x,
                   p.cols, p.n, acc);
#pragma unroll
    for (int j = 0; j < 2; j++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int row = at.row(i), tok = at.tok(j, i);
            if (row < p.rows && tok < p.n) {
                y[u64(tok) * p.rows + row] = silu(acc[0][j][i]) * acc[1][j][i];
            }
        }
    }
}

// MMQ_FORMS declares the four forms' entry points of one weight type.
#define MMQ_FORMS(variant, type, D)                                                                                 \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS)                                                       \
        variant##_##type(const u8 *weight, const float *x, float *y, const MatParams p) {                          \
        mmq_plain<D>(weight, x, nullptr, y, p);                                                                     \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS) variant##_##type##_acc(                               \
        const u8 *weight, const float *x, const float *residual, float *y, const MatParams p) {                     \
        mmq_plain<D>(weight, x, residual, y, p);                                                                    \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS) variant##_##type##_qkv(                               \
        const u8 *wq, const u8 *wk, const u8 *wv, const float *x, float *q, float *k, float *v, const QKVParams p) { \
        mmq_qkv<D>(wq, wk, wv, x, q, k, v, p);                                                                      \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS)                                                       \
        variant##_##type##_gate_up(const u8 *w_gate, const u8 *w_up, const float *x, float *y, const MatParams p) { \
        mmq_gate_up<D>(w_gate, w_up, x, y, p);                                                                      \
    }
