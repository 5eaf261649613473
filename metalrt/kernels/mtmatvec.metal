// Multi-token mat-vec for small steps (speculative verification, N ≤ 8):
// y[t, r] = Σ_c W[r, c]·x[t, c] for every token in one threadgroup.
//
// Threadgroup (64 threads) = 2 simdgroups of 4 rows, like matvec's, but the
// threadgroup serves all N tokens: a lane decodes each 16-column chunk of
// a weight row once into registers and dots it with the N activation rows,
// so the weights stream from memory once per step instead of N times.
// The activations come through threadgroup memory, MT_TILE columns of all
// N tokens at a time, loaded once by the whole threadgroup in contiguous
// float4s, instead of by every lane for every row. The R×N lane sums are
// reduced with simd_sum; lane i % 32 stores result i.

// mt_dot leaves in acc[r·MT_MAX_N + t] the dot product of row w.p[r] with
// token t's activations (t < n), reduced over the simdgroup; every thread
// of the threadgroup calls it (it stages the activations in shm).
template <typename B, short R>
inline void mt_dot(thread const RowPtrs<R> &w, device const float *x, int cols, int n, ushort tid, ushort lane,
                   threadgroup float *shm, thread float *acc) {
    for (short i = 0; i < R * MT_MAX_N; i++) {
        acc[i] = 0.0f;
    }
    for (int c0 = 0; c0 < cols; c0 += MT_TILE) {
        stage_x(x, cols, n, c0, MT_TILE, tid, MT_SIMDGROUPS * 32, shm);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        const int chunks = (min(cols - c0, MT_TILE) + 15) / 16;
        for (int c = lane; c < chunks; c += 32) {
            for (short r = 0; r < R; r++) {
                float wv[16];
                B::load16(w.p[r], c0 + 16 * c, cols, wv);
                for (short t = 0; t < MT_MAX_N; t++) {
                    if (t < n) {
                        float xv[16];
                        tile_x16(shm + t * MT_TILE + 16 * c, xv);
                        acc[r * MT_MAX_N + t] += dot16(wv, xv);
                    }
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup); // the tile is read: the next may replace it
    }
    for (short i = 0; i < R * MT_MAX_N; i++) {
        acc[i] = simd_sum(acc[i]);
    }
}

template <typename B>
kernel void mtmatvec(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device float *y [[buffer(2)]],
        constant MatParams &p [[buffer(3)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int r0 = tgpig.x * (MT_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const RowPtrs<MV_ROWS_PER_SIMDGROUP> rows = mv_rows(weight, r0, p.rows, B::row_bytes(p.cols));
    float acc[MV_ROWS_PER_SIMDGROUP * MT_MAX_N];
    mt_dot<B, MV_ROWS_PER_SIMDGROUP>(rows, x, p.cols, p.n, tiitg, tiisg, shm, acc);
    for (short i = 0; i < MV_ROWS_PER_SIMDGROUP * MT_MAX_N; i++) {
        const int r = r0 + i / MT_MAX_N, t = i % MT_MAX_N;
        if (tiisg == i % 32 && t < p.n && r < p.rows) {
            y[ulong(t) * p.rows + r] = acc[i];
        }
    }
}

// y = residual + W·x, in place when y is the residual.
template <typename B>
kernel void mtmatvec_acc(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device const float *residual [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int r0 = tgpig.x * (MT_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const RowPtrs<MV_ROWS_PER_SIMDGROUP> rows = mv_rows(weight, r0, p.rows, B::row_bytes(p.cols));
    float acc[MV_ROWS_PER_SIMDGROUP * MT_MAX_N];
    mt_dot<B, MV_ROWS_PER_SIMDGROUP>(rows, x, p.cols, p.n, tiitg, tiisg, shm, acc);
    for (short i = 0; i < MV_ROWS_PER_SIMDGROUP * MT_MAX_N; i++) {
        const int r = r0 + i / MT_MAX_N, t = i % MT_MAX_N;
        if (tiisg == i % 32 && t < p.n && r < p.rows) {
            const ulong o = ulong(t) * p.rows + r;
            y[o] = residual[o] + acc[i];
        }
    }
}

template <typename B>
kernel void mtmatvec_qkv(
        device const uchar *wq [[buffer(0)]],
        device const uchar *wk [[buffer(1)]],
        device const uchar *wv [[buffer(2)]],
        device const float *x [[buffer(3)]],
        device float *q [[buffer(4)]],
        device float *k [[buffer(5)]],
        device float *v [[buffer(6)]],
        constant QKVParams &p [[buffer(7)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int r0 = tgpig.x * (MT_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const int total = p.rows_q + 2 * p.rows_kv;
    const ulong rb = B::row_bytes(p.cols);
    RowPtrs<MV_ROWS_PER_SIMDGROUP> rows;
    for (short r = 0; r < MV_ROWS_PER_SIMDGROUP; r++) {
        rows.p[r] = qkv_row(wq, wk, wv, r0 + r, p, rb);
    }
    float acc[MV_ROWS_PER_SIMDGROUP * MT_MAX_N];
    mt_dot<B, MV_ROWS_PER_SIMDGROUP>(rows, x, p.cols, p.n, tiitg, tiisg, shm, acc);
    for (short i = 0; i < MV_ROWS_PER_SIMDGROUP * MT_MAX_N; i++) {
        const int r = r0 + i / MT_MAX_N, t = i % MT_MAX_N;
        if (tiisg == i % 32 && t < p.n && r < total) {
            qkv_store(q, k, v, t, r, p, acc[i]);
        }
    }
}

// y = silu(Wg·x)·(Wu·x): 4 gate and 4 up rows per simdgroup.
template <typename B>
kernel void mtmatvec_gate_up(
        device const uchar *w_gate [[buffer(0)]],
        device const uchar *w_up [[buffer(1)]],
        device const float *x [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int r0 = tgpig.x * (MT_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const ulong rb = B::row_bytes(p.cols);
    RowPtrs<2 * MV_ROWS_PER_SIMDGROUP> rows;
    for (short r = 0; r < MV_ROWS_PER_SIMDGROUP; r++) {
        const ulong off = rb * ulong(min(r0 + r, p.rows - 1));
        rows.p[r] = w_gate + off;
        rows.p[MV_ROWS_PER_SIMDGROUP + r] = w_up + off;
    }
    float acc[2 * MV_ROWS_PER_SIMDGROUP * MT_MAX_N];
    mt_dot<B, 2 * MV_ROWS_PER_SIMDGROUP>(rows, x, p.cols, p.n, tiitg, tiisg, shm, acc);
    for (short i = 0; i < MV_ROWS_PER_SIMDGROUP * MT_MAX_N; i++) {
        const int r = r0 + i / MT_MAX_N, t = i % MT_MAX_N;
        if (tiisg == i % 32 && t < p.n && r < p.rows) {
            y[ulong(t) * p.rows + r] = silu(acc[i]) * acc[MV_ROWS_PER_SIMDGROUP * MT_MAX_N + i];
        }
    }
}

typedef decltype(mtmatvec<DecF32>) mtmatvec_t;
typedef decltype(mtmatvec_acc<DecF32>) mtmatvec_acc_t;
typedef decltype(mtmatvec_qkv<DecF32>) mtmatvec_qkv_t;
typedef decltype(mtmatvec_gate_up<DecF32>) mtmatvec_gate_up_t;

template [[host_name("mtmatvec_f32")]] kernel mtmatvec_t mtmatvec<DecF32>;
template [[host_name("mtmatvec_f16")]] kernel mtmatvec_t mtmatvec<DecF16>;
template [[host_name("mtmatvec_bf16")]] kernel mtmatvec_t mtmatvec<DecBF16>;
template [[host_name("mtmatvec_q4_0")]] kernel mtmatvec_t mtmatvec<DecQ4_0>;
template [[host_name("mtmatvec_q8_0")]] kernel mtmatvec_t mtmatvec<DecQ8_0>;
template [[host_name("mtmatvec_q4_k")]] kernel mtmatvec_t mtmatvec<DecQ4_K>;
template [[host_name("mtmatvec_q5_k")]] kernel mtmatvec_t mtmatvec<DecQ5_K>;
template [[host_name("mtmatvec_q6_k")]] kernel mtmatvec_t mtmatvec<DecQ6_K>;

template [[host_name("mtmatvec_f32_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32>;
template [[host_name("mtmatvec_f16_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16>;
template [[host_name("mtmatvec_bf16_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16>;
template [[host_name("mtmatvec_q4_0_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0>;
template [[host_name("mtmatvec_q8_0_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0>;
template [[host_name("mtmatvec_q4_k_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K>;
template [[host_name("mtmatvec_q5_k_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K>;
template [[host_name("mtmatvec_q6_k_acc")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K>;

template [[host_name("mtmatvec_f32_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32>;
template [[host_name("mtmatvec_f16_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16>;
template [[host_name("mtmatvec_bf16_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16>;
template [[host_name("mtmatvec_q4_0_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0>;
template [[host_name("mtmatvec_q8_0_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0>;
template [[host_name("mtmatvec_q4_k_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K>;
template [[host_name("mtmatvec_q5_k_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K>;
template [[host_name("mtmatvec_q6_k_qkv")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K>;

template [[host_name("mtmatvec_f32_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32>;
template [[host_name("mtmatvec_f16_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16>;
template [[host_name("mtmatvec_bf16_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16>;
template [[host_name("mtmatvec_q4_0_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0>;
template [[host_name("mtmatvec_q8_0_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0>;
template [[host_name("mtmatvec_q4_k_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K>;
template [[host_name("mtmatvec_q5_k_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K>;
template [[host_name("mtmatvec_q6_k_gate_up")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K>;
