// Tiled mat-mat for prefill: y[t, r] = Σ_c W[r, c]·x[t, c].
//
// A threadgroup (128 threads = 4 simdgroups) owns a tile of 64 weight rows
// × 32 tokens. Per step of 32 columns every thread decodes 16 weights of
// one row from the raw blocks into a threadgroup tile wt[k][row] (half, or
// float for F32/BF16 weights) and copies 8 activations into xt[token][k]
// (float); then simdgroup s multiplies 8×8 simdgroup matrices into its
// 4 × 2 accumulators, rows 32(s%2).. and tokens 16(s/2)... The result is
// staged as float in threadgroup memory and written with bounds checks.

// mm_tile computes the tile C[t][r] = Σ_c W[row r][c]·x[tok0 + t][c] and
// leaves it at the start of shm as float [MM_TOKENS][MM_ROWS]. wrow is the
// weight row this thread decodes (row tid/2 of the tile); invalid rows
// contribute zeros.
template <typename B>
inline void mm_tile(device const uchar *wrow, bool wvalid, device const float *x, int cols, int n, int tok0,
                    threadgroup uchar *shm, ushort tid, ushort sg) {
    typedef typename B::tile_t T;
    threadgroup T *wt = (threadgroup T *)shm;                                       // [MM_K][MM_ROWS]
    threadgroup float *xt = (threadgroup float *)(shm + MM_K * MM_ROWS * sizeof(T)); // [MM_TOKENS][MM_K]
    const short wr = tid / 2, wk = (tid % 2) * 16;
    const short xr = tid / 4, xk = (tid % 4) * 8;
    const bool xvalid = tok0 + xr < n;
    device const float *xrow = x + ulong(min(tok0 + xr, n - 1)) * cols;
    const short rbase = (sg % 2) * 32, tbase = (sg / 2) * 16;

    simdgroup_float8x8 acc[8];
    for (short i = 0; i < 8; i++) {
        acc[i] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    }
    for (int k0 = 0; k0 < cols; k0 += MM_K) {
        float w[16];
        if (wvalid) {
            B::load16(wrow, k0 + wk, cols, w);
        } else {
            for (short i = 0; i < 16; i++) {
                w[i] = 0.0f;
            }
        }
        for (short i = 0; i < 16; i++) {
            wt[(wk + i) * MM_ROWS + wr] = T(w[i]);
        }
        for (short i = 0; i < 8; i++) {
            const int c = k0 + xk + i;
            xt[xr * MM_K + xk + i] = xvalid && c < cols ? xrow[c] : 0.0f;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (short kk = 0; kk < MM_K; kk += 8) {
            simdgroup_matrix<T, 8, 8> a[4]; // k × rows
            simdgroup_float8x8 b[2];        // tokens × k
            for (short i = 0; i < 4; i++) {
                simdgroup_load(a[i], wt + kk * MM_ROWS + rbase + 8 * i, MM_ROWS);
            }
            for (short j = 0; j < 2; j++) {
                simdgroup_load(b[j], xt + (tbase + 8 * j) * MM_K + kk, MM_K);
            }
            for (short j = 0; j < 2; j++) {
                for (short i = 0; i < 4; i++) {
                    simdgroup_multiply_accumulate(acc[4 * j + i], b[j], a[i], acc[4 * j + i]);
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    threadgroup float *c = (threadgroup float *)shm;
    for (short j = 0; j < 2; j++) {
        for (short i = 0; i < 4; i++) {
            simdgroup_store(acc[4 * j + i], c + (tbase + 8 * j) * MM_ROWS + rbase + 8 * i, MM_ROWS);
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
}

// Every thread handles MM_PER_THREAD staged results: element e = tid + i·128
// of the [MM_TOKENS][MM_ROWS] tile, token e / MM_ROWS, row e % MM_ROWS.
#define MM_PER_THREAD (MM_ROWS * MM_TOKENS / MM_THREADS)

template <typename B>
kernel void matmul(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device float *y [[buffer(2)]],
        constant MatParams &p [[buffer(3)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    const int row0 = tgpig.x * MM_ROWS, tok0 = tgpig.y * MM_TOKENS;
    const int wr = row0 + tiitg / 2;
    mm_tile<B>(weight + B::row_bytes(p.cols) * ulong(min(wr, p.rows - 1)), wr < p.rows, x, p.cols, p.n, tok0, shm, tiitg, sgitg);
    threadgroup const float *c = (threadgroup const float *)shm;
    for (short i = 0; i < MM_PER_THREAD; i++) {
        const int e = tiitg + i * MM_THREADS;
        const int r = row0 + e % MM_ROWS, t = tok0 + e / MM_ROWS;
        if (r < p.rows && t < p.n) {
            y[ulong(t) * p.rows + r] = c[e];
        }
    }
}

// y = residual + W·x, in place when y is the residual.
template <typename B>
kernel void matmul_acc(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device const float *residual [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    const int row0 = tgpig.x * MM_ROWS, tok0 = tgpig.y * MM_TOKENS;
    const int wr = row0 + tiitg / 2;
    mm_tile<B>(weight + B::row_bytes(p.cols) * ulong(min(wr, p.rows - 1)), wr < p.rows, x, p.cols, p.n, tok0, shm, tiitg, sgitg);
    threadgroup const float *c = (threadgroup const float *)shm;
    for (short i = 0; i < MM_PER_THREAD; i++) {
        const int e = tiitg + i * MM_THREADS;
        const int r = row0 + e % MM_ROWS, t = tok0 + e / MM_ROWS;
        if (r < p.rows && t < p.n) {
            const ulong o = ulong(t) * p.rows + r;
            y[o] = residual[o] + c[e];
        }
    }
}

// Q, K and V projections: a tile's rows may straddle Wq, Wk and Wv.
template <typename B>
kernel void matmul_qkv(
        device const uchar *wq [[buffer(0)]],
        device const uchar *wk [[buffer(1)]],
        device const uchar *wv [[buffer(2)]],
        device const float *x [[buffer(3)]],
        device float *q [[buffer(4)]],
        device float *k [[buffer(5)]],
        device float *v [[buffer(6)]],
        constant QKVParams &p [[buffer(7)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    const int row0 = tgpig.x * MM_ROWS, tok0 = tgpig.y * MM_TOKENS;
    const int total = p.rows_q + 2 * p.rows_kv;
    const int wr = row0 + tiitg / 2;
    mm_tile<B>(qkv_row(wq, wk, wv, wr, p, B::row_bytes(p.cols)), wr < total, x, p.cols, p.n, tok0, shm, tiitg, sgitg);
    threadgroup const float *c = (threadgroup const float *)shm;
    for (short i = 0; i < MM_PER_THREAD; i++) {
        const int e = tiitg + i * MM_THREADS;
        const int r = row0 + e % MM_ROWS, t = tok0 + e / MM_ROWS;
        if (r < total && t < p.n) {
            qkv_store(q, k, v, t, r, p, c[e]);
        }
    }
}

// y = silu(Wg·x)·(Wu·x): the gate tile's results wait in registers while
// the same threadgroup memory computes the up tile.
template <typename B>
kernel void matmul_gate_up(
        device const uchar *w_gate [[buffer(0)]],
        device const uchar *w_up [[buffer(1)]],
        device const float *x [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]]) {
    const int row0 = tgpig.x * MM_ROWS, tok0 = tgpig.y * MM_TOKENS;
    const int wr = row0 + tiitg / 2;
    const ulong off = B::row_bytes(p.cols) * ulong(min(wr, p.rows - 1));
    threadgroup const float *c = (threadgroup const float *)shm;
    float g[MM_PER_THREAD];
    mm_tile<B>(w_gate + off, wr < p.rows, x, p.cols, p.n, tok0, shm, tiitg, sgitg);
    for (short i = 0; i < MM_PER_THREAD; i++) {
        g[i] = c[tiitg + i * MM_THREADS];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup); // every gate value read before the up tile overwrites them
    mm_tile<B>(w_up + off, wr < p.rows, x, p.cols, p.n, tok0, shm, tiitg, sgitg);
    for (short i = 0; i < MM_PER_THREAD; i++) {
        const int e = tiitg + i * MM_THREADS;
        const int r = row0 + e % MM_ROWS, t = tok0 + e / MM_ROWS;
        if (r < p.rows && t < p.n) {
            y[ulong(t) * p.rows + r] = silu(g[i]) * c[e];
        }
    }
}

typedef decltype(matmul<DecF32>) matmul_t;
typedef decltype(matmul_acc<DecF32>) matmul_acc_t;
typedef decltype(matmul_qkv<DecF32>) matmul_qkv_t;
typedef decltype(matmul_gate_up<DecF32>) matmul_gate_up_t;

template [[host_name("matmul_f32")]] kernel matmul_t matmul<DecF32>;
template [[host_name("matmul_f16")]] kernel matmul_t matmul<DecF16>;
template [[host_name("matmul_bf16")]] kernel matmul_t matmul<DecBF16>;
template [[host_name("matmul_q4_0")]] kernel matmul_t matmul<DecQ4_0>;
template [[host_name("matmul_q8_0")]] kernel matmul_t matmul<DecQ8_0>;
template [[host_name("matmul_q4_k")]] kernel matmul_t matmul<DecQ4_K>;
template [[host_name("matmul_q5_k")]] kernel matmul_t matmul<DecQ5_K>;
template [[host_name("matmul_q6_k")]] kernel matmul_t matmul<DecQ6_K>;

template [[host_name("matmul_f32_acc")]] kernel matmul_acc_t matmul_acc<DecF32>;
template [[host_name("matmul_f16_acc")]] kernel matmul_acc_t matmul_acc<DecF16>;
template [[host_name("matmul_bf16_acc")]] kernel matmul_acc_t matmul_acc<DecBF16>;
template [[host_name("matmul_q4_0_acc")]] kernel matmul_acc_t matmul_acc<DecQ4_0>;
template [[host_name("matmul_q8_0_acc")]] kernel matmul_acc_t matmul_acc<DecQ8_0>;
template [[host_name("matmul_q4_k_acc")]] kernel matmul_acc_t matmul_acc<DecQ4_K>;
template [[host_name("matmul_q5_k_acc")]] kernel matmul_acc_t matmul_acc<DecQ5_K>;
template [[host_name("matmul_q6_k_acc")]] kernel matmul_acc_t matmul_acc<DecQ6_K>;

template [[host_name("matmul_f32_qkv")]] kernel matmul_qkv_t matmul_qkv<DecF32>;
template [[host_name("matmul_f16_qkv")]] kernel matmul_qkv_t matmul_qkv<DecF16>;
template [[host_name("matmul_bf16_qkv")]] kernel matmul_qkv_t matmul_qkv<DecBF16>;
template [[host_name("matmul_q4_0_qkv")]] kernel matmul_qkv_t matmul_qkv<DecQ4_0>;
template [[host_name("matmul_q8_0_qkv")]] kernel matmul_qkv_t matmul_qkv<DecQ8_0>;
template [[host_name("matmul_q4_k_qkv")]] kernel matmul_qkv_t matmul_qkv<DecQ4_K>;
template [[host_name("matmul_q5_k_qkv")]] kernel matmul_qkv_t matmul_qkv<DecQ5_K>;
template [[host_name("matmul_q6_k_qkv")]] kernel matmul_qkv_t matmul_qkv<DecQ6_K>;

template [[host_name("matmul_f32_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecF32>;
template [[host_name("matmul_f16_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecF16>;
template [[host_name("matmul_bf16_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecBF16>;
template [[host_name("matmul_q4_0_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecQ4_0>;
template [[host_name("matmul_q8_0_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecQ8_0>;
template [[host_name("matmul_q4_k_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecQ4_K>;
template [[host_name("matmul_q5_k_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecQ5_K>;
template [[host_name("matmul_q6_k_gate_up")]] kernel matmul_gate_up_t matmul_gate_up<DecQ6_K>;
