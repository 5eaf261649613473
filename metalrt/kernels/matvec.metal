// Mat-vec: y[t, r] = Σ_c W[r, c]·x[t, c], one token per threadgroup row.
//
// Threadgroup (256 threads) = 8 simdgroups; simdgroup s of threadgroup
// (g, t) computes rows 32g + 4s .. 32g + 4s + 3 for token t (32 rows share
// one staging of the activations). Its lanes split
// each row into chunks of 16 columns (lane l takes chunks l, l+32, ...;
// the decoder says which columns a chunk holds): a lane reads its 16
// activations once and dots them with the four rows' chunks, decoded from
// the raw blocks in registers, then simd_sum reduces the lanes. The
// activations come through threadgroup memory, MV_TILE columns at a time,
// loaded once by the threadgroup in contiguous float4s. Rows past the end are clamped to the last row and not stored.

// mv_dot leaves in sum[r] the dot product of row w.p[r] with x (cols long),
// reduced over the simdgroup; every thread of the threadgroup calls it (it
// stages x in shm, MV_TILE columns at a time).
template <typename B, short R>
inline void mv_dot(thread const RowPtrs<R> &w, device const float *x, int cols, ushort tid, ushort lane,
                   threadgroup float *shm, thread float *sum) {
    for (short r = 0; r < R; r++) {
        sum[r] = 0.0f;
    }
    for (int c0 = 0; c0 < cols; c0 += MV_TILE) {
        stage_x(x, cols, 1, c0, MV_TILE, tid, MV_SIMDGROUPS * 32, shm);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        const int chunks = (min(cols - c0, MV_TILE) + 15) / 16;
        for (int c = lane; c < chunks; c += 32) {
            float xv[16];
            const float2 xsum = B::load_x(shm, 16 * c, xv);
            for (short r = 0; r < R; r++) {
                sum[r] += B::dot16(w.p[r], c0 + 16 * c, cols, xv, xsum);
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup); // the tile is read: the next may replace it
    }
    for (short r = 0; r < R; r++) {
        sum[r] = simd_sum(sum[r]);
    }
}

template <typename B>
kernel void matvec(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device float *y [[buffer(2)]],
        constant MatParams &p [[buffer(3)]],
        threadgroup float *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const int t = tgpig.y;
    const int r0 = tgpig.x * (MV_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const RowPtrs<MV_ROWS_PER_SIMDGROUP> rows = mv_rows(weight, r0, p.rows, B::row_bytes(p.cols));
    float s[MV_ROWS_PER_SIMDGROUP];
    mv_dot<B, MV_ROWS_PER_SIMDGROUP>(rows, x + ulong(t) * p.cols, p.cols, tiitg, tiisg, shm, s);
    if (tiisg == 0) {
        for (short r = 0; r < MV_ROWS_PER_SIMDGROUP && r0 + r < p.rows; r++) {
            y[ulong(t) * p.rows + r0 + r] = s[r];
        }
    }
}

// y = residual + W·x; each output is read and written by one lane, so y
// may be the residual itself.
template <typename B>
kernel void matvec_acc(
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
    const int t = tgpig.y;
    const int r0 = tgpig.x * (MV_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const RowPtrs<MV_ROWS_PER_SIMDGROUP> rows = mv_rows(weight, r0, p.rows, B::row_bytes(p.cols));
    float s[MV_ROWS_PER_SIMDGROUP];
    mv_dot<B, MV_ROWS_PER_SIMDGROUP>(rows, x + ulong(t) * p.cols, p.cols, tiitg, tiisg, shm, s);
    if (tiisg == 0) {
        for (short r = 0; r < MV_ROWS_PER_SIMDGROUP && r0 + r < p.rows; r++) {
            const ulong i = ulong(t) * p.rows + r0 + r;
            y[i] = residual[i] + s[r];
        }
    }
}

// Q, K and V projections of one input: global rows run through Wq, Wk, Wv.
template <typename B>
kernel void matvec_qkv(
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
    const int t = tgpig.y;
    const int r0 = tgpig.x * (MV_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const int total = p.rows_q + 2 * p.rows_kv;
    const ulong rb = B::row_bytes(p.cols);
    RowPtrs<MV_ROWS_PER_SIMDGROUP> rows;
    for (short r = 0; r < MV_ROWS_PER_SIMDGROUP; r++) {
        rows.p[r] = qkv_row(wq, wk, wv, r0 + r, p, rb);
    }
    float s[MV_ROWS_PER_SIMDGROUP];
    mv_dot<B, MV_ROWS_PER_SIMDGROUP>(rows, x + ulong(t) * p.cols, p.cols, tiitg, tiisg, shm, s);
    if (tiisg == 0) {
        for (short r = 0; r < MV_ROWS_PER_SIMDGROUP && r0 + r < total; r++) {
            qkv_store(q, k, v, t, r0 + r, p, s[r]);
        }
    }
}

// y = silu(Wg·x)·(Wu·x): the simdgroup dots 4 gate and 4 up rows with one
// load of x.
template <typename B>
kernel void matvec_gate_up(
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
    const int t = tgpig.y;
    const int r0 = tgpig.x * (MV_SIMDGROUPS * MV_ROWS_PER_SIMDGROUP) + sgitg * MV_ROWS_PER_SIMDGROUP;
    const ulong rb = B::row_bytes(p.cols);
    RowPtrs<2 * MV_ROWS_PER_SIMDGROUP> rows;
    for (short r = 0; r < MV_ROWS_PER_SIMDGROUP; r++) {
        const ulong off = rb * ulong(min(r0 + r, p.rows - 1));
        rows.p[r] = w_gate + off;
        rows.p[MV_ROWS_PER_SIMDGROUP + r] = w_up + off;
    }
    float s[2 * MV_ROWS_PER_SIMDGROUP];
    mv_dot<B, 2 * MV_ROWS_PER_SIMDGROUP>(rows, x + ulong(t) * p.cols, p.cols, tiitg, tiisg, shm, s);
    if (tiisg == 0) {
        for (short r = 0; r < MV_ROWS_PER_SIMDGROUP && r0 + r < p.rows; r++) {
            y[ulong(t) * p.rows + r0 + r] = silu(s[r]) * s[MV_ROWS_PER_SIMDGROUP + r];
        }
    }
}

typedef decltype(matvec<DecF32>) matvec_t;
typedef decltype(matvec_acc<DecF32>) matvec_acc_t;
typedef decltype(matvec_qkv<DecF32>) matvec_qkv_t;
typedef decltype(matvec_gate_up<DecF32>) matvec_gate_up_t;

template [[host_name("matvec_f32")]] kernel matvec_t matvec<DecF32>;
template [[host_name("matvec_f16")]] kernel matvec_t matvec<DecF16>;
template [[host_name("matvec_bf16")]] kernel matvec_t matvec<DecBF16>;
template [[host_name("matvec_q4_0")]] kernel matvec_t matvec<DecQ4_0>;
template [[host_name("matvec_q8_0")]] kernel matvec_t matvec<DecQ8_0>;
template [[host_name("matvec_q4_k")]] kernel matvec_t matvec<DecQ4_K>;
template [[host_name("matvec_q5_k")]] kernel matvec_t matvec<DecQ5_K>;
template [[host_name("matvec_q6_k")]] kernel matvec_t matvec<DecQ6_K>;

template [[host_name("matvec_f32_acc")]] kernel matvec_acc_t matvec_acc<DecF32>;
template [[host_name("matvec_f16_acc")]] kernel matvec_acc_t matvec_acc<DecF16>;
template [[host_name("matvec_bf16_acc")]] kernel matvec_acc_t matvec_acc<DecBF16>;
template [[host_name("matvec_q4_0_acc")]] kernel matvec_acc_t matvec_acc<DecQ4_0>;
template [[host_name("matvec_q8_0_acc")]] kernel matvec_acc_t matvec_acc<DecQ8_0>;
template [[host_name("matvec_q4_k_acc")]] kernel matvec_acc_t matvec_acc<DecQ4_K>;
template [[host_name("matvec_q5_k_acc")]] kernel matvec_acc_t matvec_acc<DecQ5_K>;
template [[host_name("matvec_q6_k_acc")]] kernel matvec_acc_t matvec_acc<DecQ6_K>;

template [[host_name("matvec_f32_qkv")]] kernel matvec_qkv_t matvec_qkv<DecF32>;
template [[host_name("matvec_f16_qkv")]] kernel matvec_qkv_t matvec_qkv<DecF16>;
template [[host_name("matvec_bf16_qkv")]] kernel matvec_qkv_t matvec_qkv<DecBF16>;
template [[host_name("matvec_q4_0_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ4_0>;
template [[host_name("matvec_q8_0_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ8_0>;
template [[host_name("matvec_q4_k_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ4_K>;
template [[host_name("matvec_q5_k_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ5_K>;
template [[host_name("matvec_q6_k_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ6_K>;

template [[host_name("matvec_f32_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecF32>;
template [[host_name("matvec_f16_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecF16>;
template [[host_name("matvec_bf16_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecBF16>;
template [[host_name("matvec_q4_0_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ4_0>;
template [[host_name("matvec_q8_0_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ8_0>;
template [[host_name("matvec_q4_k_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ4_K>;
template [[host_name("matvec_q5_k_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ5_K>;
template [[host_name("matvec_q6_k_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ6_K>;
