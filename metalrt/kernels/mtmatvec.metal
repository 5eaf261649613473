// Multi-token mat-vec for small steps (speculative verification, N ≤ 8):
// y[t, r] = Σ_c W[r, c]·x[t, c] for every token in one threadgroup, with
// matvec.metal's mv_run: the threadgroup stages each activation tile of
// all N tokens once and each simdgroup its rows' raw weight tiles, so the
// weights stream from memory once per step instead of N times.
//
// mt_run switches on N to an instance of mv_run whose accumulators are
// sized for it and whose rows per simdgroup are what N tokens' activation
// tiles leave room for (MvShape): the loops over tokens unroll and no
// token past N is computed. The pipeline is one per contract, so its
// register allocation is that of its largest instance.

template <typename B, typename Form>
inline void mt_run(int n, thread const Form &f, uint3 tgpig, ushort tid, ushort sg, ushort lane, threadgroup uchar *shm) {
    switch (n) {
    case 1:
        mv_run<B, 1>(f, tgpig, tid, sg, lane, shm);
        break;
    case 2:
        mv_run<B, 2>(f, tgpig, tid, sg, lane, shm);
        break;
    case 3:
        mv_run<B, 3>(f, tgpig, tid, sg, lane, shm);
        break;
    case 4:
        mv_run<B, 4>(f, tgpig, tid, sg, lane, shm);
        break;
    case 5:
        mv_run<B, 5>(f, tgpig, tid, sg, lane, shm);
        break;
    case 6:
        mv_run<B, 6>(f, tgpig, tid, sg, lane, shm);
        break;
    case 7:
        mv_run<B, 7>(f, tgpig, tid, sg, lane, shm);
        break;
    default: // geometry.go refuses n > MT_MAX_N
        mv_run<B, MT_MAX_N>(f, tgpig, tid, sg, lane, shm);
    }
}

template <typename B>
kernel void mtmatvec(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device float *y [[buffer(2)]],
        constant MatParams &p [[buffer(3)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const MvForm f = {weight, x, y, p.rows, p.cols, B::row_bytes(p.cols)};
    mt_run<B>(p.n, f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B>
kernel void mtmatvec_acc(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device const float *residual [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const AccForm f = {weight, x, residual, y, p.rows, p.cols, B::row_bytes(p.cols)};
    mt_run<B>(p.n, f, tgpig, tiitg, sgitg, tiisg, shm);
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
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const QKVForm f = {wq, wk, wv, x, q, k, v, &p, p.cols, B::row_bytes(p.cols)};
    mt_run<B>(p.n, f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B>
kernel void mtmatvec_gate_up(
        device const uchar *w_gate [[buffer(0)]],
        device const uchar *w_up [[buffer(1)]],
        device const float *x [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const GateUpForm f = {w_gate, w_up, x, y, p.rows, p.cols, B::row_bytes(p.cols)};
    mt_run<B>(p.n, f, tgpig, tiitg, sgitg, tiisg, shm);
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
