// The matmul variant (prefill, N tokens a step) of Q6_K weights on the
// tensor cores (Q4_0 and Q8_0: mmqtile.cu): each 32-column chunk of a
// weight row meets the same block of the int8-quantised activations (Q8_0)
// in two mma.m16n8k16, one per 16-column scale, whose integer sums are
// scaled by the two blocks' scales, d_w·d_x·Σ q_w·q_x.
//
// A block of MMQ_WARPS warps computes MMQ_ROWS rows × MMQ_TOKENS tokens:
// warp w rows 16w..16w+15, all the block's tokens (MMQ_NT 8-token tiles,
// so each A fragment serves MMQ_NT products). The block quantises its
// tokens' activations into shared memory a tile of MMQ_KT columns at a
// time; each lane reads its A fragment (two rows, 4 bytes of each)
// straight from the weights, which every block of the same rows shares
// through L2 (the grid runs token blocks fastest). Measured on the H200
// with Q4_0 (ncu) at 64 tokens a step: these fragment loads keep L1 busy
// (91%); a first staging of the weights in shared memory (u16 loads, 64
// rows × 32 tokens a block) cost more than it saved (pp512 1,390 t/s
// against 1,890). At 512 tokens a step this kernel ran Q4_0's pp512 at
// 3,745 t/s; mmqtile.cu's larger staged tiles at 4,358.

#define MMQ_NT (MMQ_TOKENS / 8)

#define MMQ_KT 512                   // columns per shared activation tile (16 blocks)
#define MMQ_XSTRIDE (MMQ_KT / 4 + 4) // ints per token: ≡ 4 mod 32, so a fragment's 32 reads hit 32 banks

struct MmqTile {
    int q[MMQ_TOKENS * MMQ_XSTRIDE];
    float d[MMQ_TOKENS][MMQ_KT / 32];
};

// mmq_quantise fills t with tokens t0.. (zeros past n) of x's columns
// col0 .. col0 + MMQ_KT: a warp takes 4 blocks of one token at a time.
__device__ __forceinline__ void mmq_quantise(const float *x, int cols, int t0, int n, int col0, MmqTile &t) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int end = min(cols, col0 + MMQ_KT);
    const int groups = (end - col0 + 127) / 128;
#pragma unroll 2
    for (int it = warp; it < MMQ_TOKENS * groups; it += MMQ_WARPS) {
        const int tok = it / groups, c = col0 + 128 * (it % groups) + 4 * lane;
        const bool live = c < end && t0 + tok < n;
        float v[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            v[i] = live ? x[u64(t0 + tok) * cols + c + i] : 0.0f;
        }
        float d;
        int sum;
        const int packed = quant4(v, d, sum);
        if (c < end) {
            t.q[tok * MMQ_XSTRIDE + (c - col0) / 4] = packed;
            if (lane % 8 == 0) {
                t.d[tok][(c - col0) / 32] = d;
            }
        }
    }
}

// Q6_K (DecQ6_K's layout): the two halves of a 32-column chunk have their
// own int8 scales, so each half is one m16n8k16 (the A and B registers of
// a m16n8k32 are the two halves' fragments) scaled by its own.
struct MmaQ6_K {
    typedef float Scales[2][2]; // [row][half]
    static __device__ __forceinline__ void load(const u8 *p0, const u8 *p1, int c, int t, int (&a)[4], Scales &d) {
        const int j = c % 8, h = j / 4, k = j % 4;
        const u8 *ps[2] = {p0 + 210 * u64(c / 8), p1 + 210 * u64(c / 8)};
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const u8 *b = ps[r];
            const float db = h2f(__ldg((const u16 *)(b + 208)));
#pragma unroll
            for (int half = 0; half < 2; half++) {
                const int i = 16 * half + 4 * t;
                const int lo = ld_int2(b + 64 * h + 32 * (k & 1) + i);
                const int hi = ld_int2(b + 128 + 32 * h + i);
                const u32 q = (u32(k >= 2 ? lo >> 4 : lo) & 0x0f0f0f0fu) | ((u32(hi >> (2 * k)) & 0x03030303u) << 4);
                a[2 * half + r] = int((q + 0x60606060u) ^ 0x80808080u); // q − 32, bytes 0..63 to −32..31
                d[r][half] = db * float((signed char)__ldg(b + 192 + 8 * h + half + 2 * k));
            }
        }
    }
    static __device__ __forceinline__ void mma(float (&acc)[4], const int (&a)[4], const int (&bf)[2],
                                               const Scales &dw, float dx0, float dx1) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            int c[4] = {MMA_BIAS, MMA_BIAS, MMA_BIAS, MMA_BIAS};
            const int ah[2] = {a[2 * half], a[2 * half + 1]};
            mma_s8_k16(c, ah, bf[half]);
            acc[0] += mma_sum(c[0]) * (dw[0][half] * dx0);
            acc[1] += mma_sum(c[1]) * (dw[0][half] * dx1);
            acc[2] += mma_sum(c[2]) * (dw[1][half] * dx0);
            acc[3] += mma_sum(c[3]) * (dw[1][half] * dx1);
        }
    }
};

template <typename D> struct MmaBlock;
template <> struct MmaBlock<DecQ6_K> { typedef MmaQ6_K type; };

// mmq_tile leaves in acc[w][j][i] the sums of weight matrix w's rows
// rows[w][0] (i < 2) and rows[w][1] (i ≥ 2), the lane's rows, with token
// t0 + 8j + 2t + i%2. Every thread of the block calls it.
template <typename D, int NW>
__device__ __forceinline__ void mmq_tile(const u8 *const (&rows)[NW][2], const float *x, int cols, int t0, int n,
                                         float (&acc)[NW][MMQ_NT][4]) {
    typedef typename MmaBlock<D>::type W;
    __shared__ MmqTile tile;
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
    for (int w = 0; w < NW; w++) {
#pragma unroll
        for (int j = 0; j < MMQ_NT; j++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                acc[w][j][i] = 0.0f;
            }
        }
    }
    for (int k0 = 0; k0 < cols; k0 += MMQ_KT) {
        __syncthreads(); // every warp is done with the previous tile
        mmq_quantise(x, cols, t0, n, k0, tile);
        __syncthreads();
        const int nb = min(cols - k0, MMQ_KT) / 32;
#pragma unroll 4
        for (int b = 0; b < nb; b++) {
            int a[NW][4];
            typename W::Scales dw[NW];
#pragma unroll
            for (int w = 0; w < NW; w++) {
                W::load(rows[w][0], rows[w][1], k0 / 32 + b, t, a[w], dw[w]);
            }
#pragma unroll
            for (int j = 0; j < MMQ_NT; j++) {
                const int *xq = &tile.q[(8 * j + g) * MMQ_XSTRIDE + 8 * b + t];
                const int bf[2] = {xq[0], xq[4]};
                const float dx0 = tile.d[8 * j + 2 * t][b], dx1 = tile.d[8 * j + 2 * t + 1][b];
#pragma unroll
                for (int w = 0; w < NW; w++) {
                    W::mma(acc[w][j], a[w], bf, dw[w], dx0, dx1);
                }
            }
        }
    }
}

// mmq_place gives the warp's first row, the block's first token and the
// lane's output coordinates for acc[.][j][i].
struct MmqPlace {
    int r0, t0, g, t;
    __device__ __forceinline__ MmqPlace() {
        const int lane = threadIdx.x % 32;
        r0 = blockIdx.y * MMQ_ROWS + (threadIdx.x / 32) * 16;
        t0 = blockIdx.x * MMQ_TOKENS;
        g = lane / 4;
        t = lane % 4;
    }
    __device__ __forceinline__ int row(int i) const { return r0 + g + 8 * (i / 2); }
    __device__ __forceinline__ int tok(int j, int i) const { return t0 + 8 * j + 2 * t + i % 2; }
};

template <typename D>
__device__ __forceinline__ void mmq_plain(const u8 *weight, const float *x, const float *residual, float *y,
                                          const MatParams &p) {
    const MmqPlace at;
    const u64 rb = D::row_bytes(p.cols);
    const u8 *rows[1][2] = {{weight + rb * u64(min(at.row(0), p.rows - 1)), weight + rb * u64(min(at.row(2), p.rows - 1))}};
    float acc[1][MMQ_NT][4];
    mmq_tile<D, 1>(rows, x, p.cols, at.t0, p.n, acc);
#pragma unroll
    for (int j = 0; j < MMQ_NT; j++) {
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
    const u8 *rows[1][2] = {{qkv_row(wq, wk, wv, at.row(0), p, rb), qkv_row(wq, wk, wv, at.row(2), p, rb)}};
    float acc[1][MMQ_NT][4];
    mmq_tile<D, 1>(rows, x, p.cols, at.t0, p.n, acc);
#pragma unroll
    for (int j = 0; j < MMQ_NT; j++) {
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
    const u64 o0 = rb * u64(min(at.row(0), p.rows - 1)), o1 = rb * u64(min(at.row(2), p.rows - 1));
    const u8 *rows[2][2] = {{w_gate + o0, w_gate + o1}, {w_up + o0, w_up + o1}};
    float acc[2][MMQ_NT][4];
    mmq_tile<D, 2>(rows, x, p.cols, at.t0, p.n, acc);
#pragma unroll
    for (int j = 0; j < MMQ_NT; j++) {
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
