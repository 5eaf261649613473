// The forms (plain, acc, qkv, gate_up) of the tensor-core matmuls that
// compute a block of MMQT_ROWS weight rows × MMQT_TOKENS tokens with
// MMQ_THREADS threads (gate_up: half the rows of each of its two
// matrices): mmqtile.cu's int8 tiles of Q4_0 and Q8_0 and mmhalf.cu's
// half tiles of F16, BF16, Q4_K and Q5_K. A tile type T has T::Act, the
// activations it reads, and T::tile<D, NW>, which leaves in
// acc[w][m][j][i] the sums of matrix w's row MmtPlace::row(m, i) with
// token MmtPlace::tok(j, i), staging the row MmtPlace::staged_row().
// Warps are laid out 4 (rows) × 2 (tokens), a warp 32 rows × 32 tokens.

#define MMT_WARP_TOKENS (MMQT_TOKENS / 2)

template <int NW> __device__ __forceinline__ void mmt_zero(float (&acc)[NW][2 / NW][4][4]) {
#pragma unroll
    for (int w = 0; w < NW; w++) {
#pragma unroll
        for (int m = 0; m < 2 / NW; m++) {
#pragma unroll
            for (int j = 0; j < 4; j++) {
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    acc[w][m][j][i] = 0.0f;
                }
            }
        }
    }
}

// MmtPlace: the block's rows of each matrix (R of them), the row this
// thread stages, and the output coordinates of acc[.][m][j][i].
template <int NW> struct MmtPlace {
    enum { R = MMQT_ROWS / NW, MT = 2 / NW };
    int r0, t0, wr, wt, g, t;
    __device__ __forceinline__ MmtPlace() {
        const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
        r0 = blockIdx.y * R;
        t0 = blockIdx.x * MMQT_TOKENS;
        wr = warp % 4;
        wt = warp / 4;
        g = lane / 4;
        t = lane % 4;
    }
    __device__ __forceinline__ int staged_row() const { return r0 + (threadIdx.x / 2) % R; }
    __device__ __forceinline__ int staged_matrix() const { return (threadIdx.x / 2) / R; }
    __device__ __forceinline__ int row(int m, int i) const { return r0 + wr * 16 * MT + 16 * m + g + 8 * (i / 2); }
    __device__ __forceinline__ int tok(int j, int i) const {
        return t0 + MMT_WARP_TOKENS * wt + 8 * j + 2 * t + i % 2;
    }
};

// mmt_each calls f(m, j, i) for every sum acc[.][m][j][i] of a warp.
template <int MT, typename F> __device__ __forceinline__ void mmt_each(F f) {
#pragma unroll
    for (int m = 0; m < MT; m++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                f(m, j, i);
            }
        }
    }
}

template <typename D, typename T>
__device__ __forceinline__ void mmt_plain(const u8 *weight, const typename T::Act &x, const float *residual, float *y,
                                          const MatParams &p) {
    const MmtPlace<1> at;
    const u8 *src = weight + D::row_bytes(p.cols) * u64(min(at.staged_row(), p.rows - 1));
    float acc[1][2][4][4];
    T::template tile<D, 1>(src, x, p.cols, at.t0, p.n, acc);
    mmt_each<2>([&](int m, int j, int i) {
        const int row = at.row(m, i), tok = at.tok(j, i);
        if (row < p.rows && tok < p.n) {
            const u64 o = u64(tok) * p.rows + row; // one lane reads and writes it: y may be the residual
            y[o] = residual ? residual[o] + acc[0][m][j][i] : acc[0][m][j][i];
        }
    });
}

template <typename D, typename T>
__device__ __forceinline__ void mmt_qkv(const u8 *wq, const u8 *wk, const u8 *wv, const typename T::Act &x, float *q,
                                        float *k, float *v, const QKVParams &p) {
    const MmtPlace<1> at;
    const u8 *src = qkv_row(wq, wk, wv, at.staged_row(), p, D::row_bytes(p.cols));
    float acc[1][2][4][4];
    T::template tile<D, 1>(src, x, p.cols, at.t0, p.n, acc);
    mmt_each<2>([&](int m, int j, int i) {
        if (at.tok(j, i) < p.n) {
            qkv_store(q, k, v, at.row(m, i), at.tok(j, i), acc[0][m][j][i], p);
        }
    });
}

template <typename D, typename T>
__device__ __forceinline__ void mmt_gate_up(const u8 *w_gate, const u8 *w_up, const typename T::Act &x, float *y,
                                            const MatParams &p) {
    const MmtPlace<2> at;
    const u8 *src = (at.staged_matrix() == 0 ? w_gate : w_up) +
                    D::row_bytes(p.cols) * u64(min(at.staged_row(), p.rows - 1));
    float acc[2][1][4][4];
    T::template tile<D, 2>(src, x, p.cols, at.t0, p.n, acc);
    mmt_each<1>([&](int, int j, int i) {
        const int row = at.row(0, i), tok = at.tok(j, i);
        if (row < p.rows && tok < p.n) {
            y[u64(tok) * p.rows + row] = silu(acc[0][0][j][i]) * acc[1][0][j][i];
        }
    });
}

// MMT_FLOAT_FORMS declares the four forms' entry points of one weight
// type whose tile T reads the float activations (mmhalf.cu, mmtf32.cu);
// two blocks an SM (at most 128 registers a thread).
#define MMT_FLOAT_FORMS(variant, type, D, T)                                                                        \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2)                                                    \
        variant##_##type(const u8 *weight, const float *x, float *y, const MatParams p) {                          \
        mmt_plain<D, T>(weight, x, nullptr, y, p);                                                                  \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2) variant##_##type##_acc(                            \
        const u8 *weight, const float *x, const float *residual, float *y, const MatParams p) {                     \
        mmt_plain<D, T>(weight, x, residual, y, p);                                                                 \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2) variant##_##type##_qkv(                            \
        const u8 *wq, const u8 *wk, const u8 *wv, const float *x, float *q, float *k, float *v, const QKVParams p) { \
        mmt_qkv<D, T>(wq, wk, wv, x, q, k, v, p);                                                                   \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2)                                                    \
        variant##_##type##_gate_up(const u8 *w_gate, const u8 *w_up, const float *x, float *y, const MatParams p) { \
        mmt_gate_up<D, T>(w_gate, w_up, x, y, p);                                                                   \
    }
