// Mat-vec families: y[t, r] = Σ_c W[r, c]·x[t, c] in the plain, acc, qkv
// and gate_up forms. One template serves the matvec variant (NT = 1: a
// block per (8 rows, token); for Q4_0 and Q8_0 a block per (16 rows,
// token) of int8 dot products, int8dot.cu) and the mtmatvec variant (NT =
// 8: a block per (8 rows, 8 tokens), each weight chunk decoded once for
// all its tokens); the matmul variant runs on the tensor cores (mmforms.cu).
// Warp w of a block computes MV_ROWS_PER_WARP rows; lane l takes the
// 32-column chunks l, l+32, ... of each row (so a warp reads consecutive
// blocks of a quantised row), decodes them in registers and dots them with
// the float activations; warp_sum reduces the lanes. Rows past the end are
// clamped to the last row and not stored.
//
// The activations go through shared memory a tile of MV_TILE columns (one
// chunk per lane) at a time, loaded by the whole block with coalesced
// reads: read from global memory directly, lanes 32 floats apart made
// every load touch 32 cache lines, which bound a 7B model's decode to 30
// ms a token on an H200. Row j of a tile is stored at j + j/32, so lane
// l's chunk starts in bank l and the lanes' reads never conflict.

#define MV_TILE (32 * 32)
#define MV_TILE_PAD (MV_TILE + MV_TILE / 32)

// mv_dot leaves in acc[r][t] the dot product of row rows[r] with token
// t0 + t's activations (tokens past ntok stay 0), reduced over the warp.
// Every thread of the block calls it: it synchronises the block.
template <typename D, int NT, int R>
__device__ __forceinline__ void mv_dot(const u8 *const *rows, const float *x, int cols, int t0, int ntok,
                                       float (&acc)[R][NT]) {
    __shared__ float xs[NT][MV_TILE_PAD];
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int r = 0; r < R; r++) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            acc[r][t] = 0.0f;
        }
    }
    for (int base = 0; base < cols; base += MV_TILE) {
        __syncthreads(); // every warp is done with the previous tile
        for (int j = threadIdx.x; j < MV_TILE; j += MV_THREADS) {
            const int col = base + j;
#pragma unroll
            for (int t = 0; t < NT; t++) {
                xs[t][j + j / 32] = t0 + t < ntok && col < cols ? x[u64(t0 + t) * cols + col] : 0.0f;
            }
        }
        __syncthreads();
        const int c = base / 32 + lane; // this lane's chunk of the row
        if (32 * c >= cols) {
            continue; // past the row's end in its last tile
        }
#pragma unroll
        for (int r = 0; r < R; r++) {
            float w[32];
            D::load32(rows[r], c, cols, w);
#pragma unroll
            for (int t = 0; t < NT; t++) {
                const float *xt = &xs[t][33 * lane];
                float s = 0.0f;
#pragma unroll
                for (int i = 0; i < 32; i++) {
                    s += w[i] * xt[i];
                }
                acc[r][t] += s;
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            acc[r][t] = warp_sum(acc[r][t]);
        }
    }
}

// A dot strategy S gives the forms below their shape (S::NT tokens and
// S::R rows per warp, S::ROWS rows per block) and S::dot, which leaves
// each row's sums over the warp in acc. FloatDot is mv_dot's; the int8
// one of Q4_0 and Q8_0 decode (int8dot.cu) is Int8Dot.
template <typename D, int T> struct FloatDot {
    static const int NT = T, R = MV_ROWS_PER_WARP, ROWS = MV_ROWS;
    template <int RR>
    static __device__ __forceinline__ void dot(const u8 *const *rows, const float *x, int cols, int t0, int ntok,
                                               float (&acc)[RR][NT]) {
        mv_dot<D, NT, RR>(rows, x, cols, t0, ntok, acc);
    }
};
template <typename D> using FloatDot1 = FloatDot<D, 1>;
template <typename D> using FloatDotMT = FloatDot<D, MT_TOKENS>;

// mv_place finds the block's first row and first token: rows in x,
// tokens in y.
template <typename S> __device__ __forceinline__ void mv_place(int &r0, int &t0) {
    r0 = blockIdx.x * S::ROWS + (threadIdx.x / 32) * S::R;
    t0 = blockIdx.y * S::NT;
}

template <typename D, typename S>
__device__ __forceinline__ void mv_plain(const u8 *weight, const float *x, const float *residual, float *y,
                                         const MatParams &p) {
    const int NT = S::NT;
    int r0, t0;
    mv_place<S>(r0, t0);
    const u64 rb = D::row_bytes(p.cols);
    const u8 *rows[S::R];
#pragma unroll
    for (int r = 0; r < S::R; r++) {
        rows[r] = weight + rb * u64(min(r0 + r, p.rows - 1));
    }
    float acc[S::R][NT];
    S::dot(rows, x, p.cols, t0, p.n, acc);
    if (threadIdx.x % 32 != 0) {
        return;
    }
#pragma unroll
    for (int r = 0; r < S::R; r++) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if (r0 + r < p.rows && t0 + t < p.n) {
                // One lane reads and writes each output: y may be the residual.
                const u64 i = u64(t0 + t) * p.rows + r0 + r;
                y[i] = residual ? residual[i] + acc[r][t] : acc[r][t];
            }
        }
    }
}

// qkv_row is the weight row of global row r of the fused projection (Wq
// rows, then Wk, then Wv), clamped into Wv past the end.
__device__ __forceinline__ const u8 *qkv_row(const u8 *wq, const u8 *wk, const u8 *wv, int r, const QKVParams &p,
                                             u64 rb) {
    if (r < p.rows_q) {
        return wq + rb * u64(r);
    }
    r -= p.rows_q;
    if (r < p.rows_kv) {
        return wk + rb * u64(r);
    }
    return wv + rb * u64(min(r - p.rows_kv, p.rows_kv - 1));
}

// qkv_store stores output row of token tok of the fused projection into
// q, k or v; rows past the three are dropped.
__device__ __forceinline__ void qkv_store(float *q, float *k, float *v, int row, int tok, float val,
                                          const QKVParams &p) {
    if (row < p.rows_q) {
        q[u64(tok) * p.rows_q + row] = val;
    } else if (row < p.rows_q + p.rows_kv) {
        k[u64(tok) * p.rows_kv + row - p.rows_q] = val;
    } else if (row < p.rows_q + 2 * p.rows_kv) {
        v[u64(tok) * p.rows_kv + row - p.rows_q - p.rows_kv] = val;
    }
}

template <typename D, typename S>
__device__ __forceinline__ void mv_qkv(const u8 *wq, const u8 *wk, const u8 *wv, const float *x, float *q, float *k,
                                       float *v, const QKVParams &p) {
    const int NT = S::NT;
    int r0, t0;
    mv_place<S>(r0, t0);
    const u64 rb = D::row_bytes(p.cols);
    const u8 *rows[S::R];
#pragma unroll
    for (int r = 0; r < S::R; r++) {
        rows[r] = qkv_row(wq, wk, wv, r0 + r, p, rb);
    }
    float acc[S::R][NT];
    S::dot(rows, x, p.cols, t0, p.n, acc);
    if (threadIdx.x % 32 != 0) {
        return;
    }
#pragma unroll
    for (int r = 0; r < S::R; r++) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if (t0 + t < p.n) {
                qkv_store(q, k, v, r0 + r, t0 + t, acc[r][t], p);
            }
        }
    }
}

// y = silu(Wg·x)·(Wu·x): the warp dots its gate and up rows with one pass
// over x.
template <typename D, typename S>
__device__ __forceinline__ void mv_gate_up(const u8 *w_gate, const u8 *w_up, const float *x, float *y,
                                           const MatParams &p) {
    const int NT = S::NT, R = S::R;
    int r0, t0;
    mv_place<S>(r0, t0);
    const u64 rb = D::row_bytes(p.cols);
    const u8 *rows[2 * R];
#pragma unroll
    for (int r = 0; r < R; r++) {
        const u64 off = rb * u64(min(r0 + r, p.rows - 1));
        rows[r] = w_gate + off;
        rows[R + r] = w_up + off;
    }
    float acc[2 * R][NT];
    S::dot(rows, x, p.cols, t0, p.n, acc);
    if (threadIdx.x % 32 != 0) {
        return;
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if (r0 + r < p.rows && t0 + t < p.n) {
                y[u64(t0 + t) * p.rows + r0 + r] = silu(acc[r][t]) * acc[R + r][t];
            }
        }
    }
}

// Entry points, one per contract (contract_test.go reads these lines): the
// variant fixes the dot strategy S (its tokens per block) and the block
// size TH.
#define MAT_PLAIN(name, D, S, TH)                                                                               \
    extern "C" __global__ void __launch_bounds__(TH)                                                                \
        name(const u8 *weight, const float *x, float *y, const MatParams p) {                                      \
        mv_plain<D, S>(weight, x, nullptr, y, p);                                                               \
    }
#define MAT_ACC(name, D, S, TH)                                                                                 \
    extern "C" __global__ void __launch_bounds__(TH)                                                                \
        name(const u8 *weight, const float *x, const float *residual, float *y, const MatParams p) {               \
        mv_plain<D, S>(weight, x, residual, y, p);                                                              \
    }
#define MAT_QKV(name, D, S, TH)                                                                                 \
    extern "C" __global__ void __launch_bounds__(TH) name(const u8 *wq, const u8 *wk, const u8 *wv, const float *x, \
                                                          float *q, float *k, float *v, const QKVParams p) {        \
        mv_qkv<D, S>(wq, wk, wv, x, q, k, v, p);                                                                \
    }
#define MAT_GATE_UP(name, D, S, TH)                                                                             \
    extern "C" __global__ void __launch_bounds__(TH)                                                                \
        name(const u8 *w_gate, const u8 *w_up, const float *x, float *y, const MatParams p) {                      \
        mv_gate_up<D, S>(w_gate, w_up, x, y, p);                                                                \
    }

// MAT_FORMS declares the four forms of one variant and weight type.
#define MAT_FORMS(variant, type, D, S, TH)                                                                      \
    MAT_PLAIN(variant##_##type, D, S, TH)                                                                       \
    MAT_ACC(variant##_##type##_acc, D, S, TH)                                                                   \
    MAT_QKV(variant##_##type##_qkv, D, S, TH)                                                                   \
    MAT_GATE_UP(variant##_##type##_gate_up, D, S, TH)
