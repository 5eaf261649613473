// Multi-token mat-vec for small steps (speculative verification, N ≤ 8):
// y[t, r] = Σ_c W[r, c]·x[t, c] for every token in one threadgroup, with
// matvec.metal's mv_run: the threadgroup stages each activation tile of
// all N tokens once and each simdgroup its rows' raw weight tiles, so the
// weights stream from memory once per step instead of N times.
//
// Each kernel is a template over the decoder B and the tokens N, with an
// instance per weight type and N = 1..MT_MAX_N, host name CONTRACT_nN
// (geometry.go's PipelineKey): a step of N tokens binds a pipeline whose
// accumulators and rows per simdgroup (MvShape) are sized for N alone, so
// its register allocation is not that of the largest N, and from
// MV_DECODE_ONCE tokens on the instance decodes each weight chunk once for
// all N tokens (mv_dot). p.n is N.

template <typename B, short N>
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
    mv_run<B, N>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B, short N>
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
    mv_run<B, N>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B, short N>
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
    mv_run<B, N>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B, short N>
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
    mv_run<B, N>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

typedef decltype(mtmatvec<DecF32, 1>) mtmatvec_t;
typedef decltype(mtmatvec_acc<DecF32, 1>) mtmatvec_acc_t;
typedef decltype(mtmatvec_qkv<DecF32, 1>) mtmatvec_qkv_t;
typedef decltype(mtmatvec_gate_up<DecF32, 1>) mtmatvec_gate_up_t;

template [[host_name("mtmatvec_f32_n1")]] kernel mtmatvec_t mtmatvec<DecF32, 1>;
template [[host_name("mtmatvec_f32_n2")]] kernel mtmatvec_t mtmatvec<DecF32, 2>;
template [[host_name("mtmatvec_f32_n3")]] kernel mtmatvec_t mtmatvec<DecF32, 3>;
template [[host_name("mtmatvec_f32_n4")]] kernel mtmatvec_t mtmatvec<DecF32, 4>;
template [[host_name("mtmatvec_f32_n5")]] kernel mtmatvec_t mtmatvec<DecF32, 5>;
template [[host_name("mtmatvec_f32_n6")]] kernel mtmatvec_t mtmatvec<DecF32, 6>;
template [[host_name("mtmatvec_f32_n7")]] kernel mtmatvec_t mtmatvec<DecF32, 7>;
template [[host_name("mtmatvec_f32_n8")]] kernel mtmatvec_t mtmatvec<DecF32, 8>;

template [[host_name("mtmatvec_f16_n1")]] kernel mtmatvec_t mtmatvec<DecF16, 1>;
template [[host_name("mtmatvec_f16_n2")]] kernel mtmatvec_t mtmatvec<DecF16, 2>;
template [[host_name("mtmatvec_f16_n3")]] kernel mtmatvec_t mtmatvec<DecF16, 3>;
template [[host_name("mtmatvec_f16_n4")]] kernel mtmatvec_t mtmatvec<DecF16, 4>;
template [[host_name("mtmatvec_f16_n5")]] kernel mtmatvec_t mtmatvec<DecF16, 5>;
template [[host_name("mtmatvec_f16_n6")]] kernel mtmatvec_t mtmatvec<DecF16, 6>;
template [[host_name("mtmatvec_f16_n7")]] kernel mtmatvec_t mtmatvec<DecF16, 7>;
template [[host_name("mtmatvec_f16_n8")]] kernel mtmatvec_t mtmatvec<DecF16, 8>;

template [[host_name("mtmatvec_bf16_n1")]] kernel mtmatvec_t mtmatvec<DecBF16, 1>;
template [[host_name("mtmatvec_bf16_n2")]] kernel mtmatvec_t mtmatvec<DecBF16, 2>;
template [[host_name("mtmatvec_bf16_n3")]] kernel mtmatvec_t mtmatvec<DecBF16, 3>;
template [[host_name("mtmatvec_bf16_n4")]] kernel mtmatvec_t mtmatvec<DecBF16, 4>;
template [[host_name("mtmatvec_bf16_n5")]] kernel mtmatvec_t mtmatvec<DecBF16, 5>;
template [[host_name("mtmatvec_bf16_n6")]] kernel mtmatvec_t mtmatvec<DecBF16, 6>;
template [[host_name("mtmatvec_bf16_n7")]] kernel mtmatvec_t mtmatvec<DecBF16, 7>;
template [[host_name("mtmatvec_bf16_n8")]] kernel mtmatvec_t mtmatvec<DecBF16, 8>;

template [[host_name("mtmatvec_q4_0_n1")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 1>;
template [[host_name("mtmatvec_q4_0_n2")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 2>;
template [[host_name("mtmatvec_q4_0_n3")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 3>;
template [[host_name("mtmatvec_q4_0_n4")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 4>;
template [[host_name("mtmatvec_q4_0_n5")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 5>;
template [[host_name("mtmatvec_q4_0_n6")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 6>;
template [[host_name("mtmatvec_q4_0_n7")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 7>;
template [[host_name("mtmatvec_q4_0_n8")]] kernel mtmatvec_t mtmatvec<DecQ4_0, 8>;

template [[host_name("mtmatvec_q8_0_n1")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 1>;
template [[host_name("mtmatvec_q8_0_n2")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 2>;
template [[host_name("mtmatvec_q8_0_n3")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 3>;
template [[host_name("mtmatvec_q8_0_n4")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 4>;
template [[host_name("mtmatvec_q8_0_n5")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 5>;
template [[host_name("mtmatvec_q8_0_n6")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 6>;
template [[host_name("mtmatvec_q8_0_n7")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 7>;
template [[host_name("mtmatvec_q8_0_n8")]] kernel mtmatvec_t mtmatvec<DecQ8_0, 8>;

template [[host_name("mtmatvec_q4_k_n1")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 1>;
template [[host_name("mtmatvec_q4_k_n2")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 2>;
template [[host_name("mtmatvec_q4_k_n3")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 3>;
template [[host_name("mtmatvec_q4_k_n4")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 4>;
template [[host_name("mtmatvec_q4_k_n5")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 5>;
template [[host_name("mtmatvec_q4_k_n6")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 6>;
template [[host_name("mtmatvec_q4_k_n7")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 7>;
template [[host_name("mtmatvec_q4_k_n8")]] kernel mtmatvec_t mtmatvec<DecQ4_K, 8>;

template [[host_name("mtmatvec_q5_k_n1")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 1>;
template [[host_name("mtmatvec_q5_k_n2")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 2>;
template [[host_name("mtmatvec_q5_k_n3")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 3>;
template [[host_name("mtmatvec_q5_k_n4")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 4>;
template [[host_name("mtmatvec_q5_k_n5")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 5>;
template [[host_name("mtmatvec_q5_k_n6")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 6>;
template [[host_name("mtmatvec_q5_k_n7")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 7>;
template [[host_name("mtmatvec_q5_k_n8")]] kernel mtmatvec_t mtmatvec<DecQ5_K, 8>;

template [[host_name("mtmatvec_q6_k_n1")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 1>;
template [[host_name("mtmatvec_q6_k_n2")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 2>;
template [[host_name("mtmatvec_q6_k_n3")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 3>;
template [[host_name("mtmatvec_q6_k_n4")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 4>;
template [[host_name("mtmatvec_q6_k_n5")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 5>;
template [[host_name("mtmatvec_q6_k_n6")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 6>;
template [[host_name("mtmatvec_q6_k_n7")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 7>;
template [[host_name("mtmatvec_q6_k_n8")]] kernel mtmatvec_t mtmatvec<DecQ6_K, 8>;

template [[host_name("mtmatvec_f32_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 1>;
template [[host_name("mtmatvec_f32_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 2>;
template [[host_name("mtmatvec_f32_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 3>;
template [[host_name("mtmatvec_f32_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 4>;
template [[host_name("mtmatvec_f32_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 5>;
template [[host_name("mtmatvec_f32_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 6>;
template [[host_name("mtmatvec_f32_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 7>;
template [[host_name("mtmatvec_f32_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF32, 8>;

template [[host_name("mtmatvec_f16_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 1>;
template [[host_name("mtmatvec_f16_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 2>;
template [[host_name("mtmatvec_f16_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 3>;
template [[host_name("mtmatvec_f16_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 4>;
template [[host_name("mtmatvec_f16_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 5>;
template [[host_name("mtmatvec_f16_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 6>;
template [[host_name("mtmatvec_f16_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 7>;
template [[host_name("mtmatvec_f16_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecF16, 8>;

template [[host_name("mtmatvec_bf16_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 1>;
template [[host_name("mtmatvec_bf16_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 2>;
template [[host_name("mtmatvec_bf16_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 3>;
template [[host_name("mtmatvec_bf16_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 4>;
template [[host_name("mtmatvec_bf16_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 5>;
template [[host_name("mtmatvec_bf16_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 6>;
template [[host_name("mtmatvec_bf16_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 7>;
template [[host_name("mtmatvec_bf16_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecBF16, 8>;

template [[host_name("mtmatvec_q4_0_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 1>;
template [[host_name("mtmatvec_q4_0_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 2>;
template [[host_name("mtmatvec_q4_0_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 3>;
template [[host_name("mtmatvec_q4_0_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 4>;
template [[host_name("mtmatvec_q4_0_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 5>;
template [[host_name("mtmatvec_q4_0_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 6>;
template [[host_name("mtmatvec_q4_0_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 7>;
template [[host_name("mtmatvec_q4_0_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_0, 8>;

template [[host_name("mtmatvec_q8_0_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 1>;
template [[host_name("mtmatvec_q8_0_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 2>;
template [[host_name("mtmatvec_q8_0_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 3>;
template [[host_name("mtmatvec_q8_0_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 4>;
template [[host_name("mtmatvec_q8_0_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 5>;
template [[host_name("mtmatvec_q8_0_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 6>;
template [[host_name("mtmatvec_q8_0_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 7>;
template [[host_name("mtmatvec_q8_0_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 8>;

template [[host_name("mtmatvec_q4_k_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 1>;
template [[host_name("mtmatvec_q4_k_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 2>;
template [[host_name("mtmatvec_q4_k_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 3>;
template [[host_name("mtmatvec_q4_k_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 4>;
template [[host_name("mtmatvec_q4_k_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 5>;
template [[host_name("mtmatvec_q4_k_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 6>;
template [[host_name("mtmatvec_q4_k_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 7>;
template [[host_name("mtmatvec_q4_k_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ4_K, 8>;

template [[host_name("mtmatvec_q5_k_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 1>;
template [[host_name("mtmatvec_q5_k_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 2>;
template [[host_name("mtmatvec_q5_k_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 3>;
template [[host_name("mtmatvec_q5_k_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 4>;
template [[host_name("mtmatvec_q5_k_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 5>;
template [[host_name("mtmatvec_q5_k_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 6>;
template [[host_name("mtmatvec_q5_k_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 7>;
template [[host_name("mtmatvec_q5_k_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ5_K, 8>;

template [[host_name("mtmatvec_q6_k_acc_n1")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 1>;
template [[host_name("mtmatvec_q6_k_acc_n2")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 2>;
template [[host_name("mtmatvec_q6_k_acc_n3")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 3>;
template [[host_name("mtmatvec_q6_k_acc_n4")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 4>;
template [[host_name("mtmatvec_q6_k_acc_n5")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 5>;
template [[host_name("mtmatvec_q6_k_acc_n6")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 6>;
template [[host_name("mtmatvec_q6_k_acc_n7")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 7>;
template [[host_name("mtmatvec_q6_k_acc_n8")]] kernel mtmatvec_acc_t mtmatvec_acc<DecQ6_K, 8>;

template [[host_name("mtmatvec_f32_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 1>;
template [[host_name("mtmatvec_f32_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 2>;
template [[host_name("mtmatvec_f32_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 3>;
template [[host_name("mtmatvec_f32_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 4>;
template [[host_name("mtmatvec_f32_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 5>;
template [[host_name("mtmatvec_f32_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 6>;
template [[host_name("mtmatvec_f32_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 7>;
template [[host_name("mtmatvec_f32_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF32, 8>;

template [[host_name("mtmatvec_f16_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 1>;
template [[host_name("mtmatvec_f16_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 2>;
template [[host_name("mtmatvec_f16_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 3>;
template [[host_name("mtmatvec_f16_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 4>;
template [[host_name("mtmatvec_f16_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 5>;
template [[host_name("mtmatvec_f16_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 6>;
template [[host_name("mtmatvec_f16_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 7>;
template [[host_name("mtmatvec_f16_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecF16, 8>;

template [[host_name("mtmatvec_bf16_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 1>;
template [[host_name("mtmatvec_bf16_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 2>;
template [[host_name("mtmatvec_bf16_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 3>;
template [[host_name("mtmatvec_bf16_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 4>;
template [[host_name("mtmatvec_bf16_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 5>;
template [[host_name("mtmatvec_bf16_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 6>;
template [[host_name("mtmatvec_bf16_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 7>;
template [[host_name("mtmatvec_bf16_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecBF16, 8>;

template [[host_name("mtmatvec_q4_0_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 1>;
template [[host_name("mtmatvec_q4_0_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 2>;
template [[host_name("mtmatvec_q4_0_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 3>;
template [[host_name("mtmatvec_q4_0_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 4>;
template [[host_name("mtmatvec_q4_0_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 5>;
template [[host_name("mtmatvec_q4_0_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 6>;
template [[host_name("mtmatvec_q4_0_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 7>;
template [[host_name("mtmatvec_q4_0_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_0, 8>;

template [[host_name("mtmatvec_q8_0_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 1>;
template [[host_name("mtmatvec_q8_0_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 2>;
template [[host_name("mtmatvec_q8_0_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 3>;
template [[host_name("mtmatvec_q8_0_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 4>;
template [[host_name("mtmatvec_q8_0_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 5>;
template [[host_name("mtmatvec_q8_0_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 6>;
template [[host_name("mtmatvec_q8_0_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 7>;
template [[host_name("mtmatvec_q8_0_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ8_0, 8>;

template [[host_name("mtmatvec_q4_k_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 1>;
template [[host_name("mtmatvec_q4_k_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 2>;
template [[host_name("mtmatvec_q4_k_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 3>;
template [[host_name("mtmatvec_q4_k_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 4>;
template [[host_name("mtmatvec_q4_k_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 5>;
template [[host_name("mtmatvec_q4_k_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 6>;
template [[host_name("mtmatvec_q4_k_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 7>;
template [[host_name("mtmatvec_q4_k_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ4_K, 8>;

template [[host_name("mtmatvec_q5_k_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 1>;
template [[host_name("mtmatvec_q5_k_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 2>;
template [[host_name("mtmatvec_q5_k_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 3>;
template [[host_name("mtmatvec_q5_k_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 4>;
template [[host_name("mtmatvec_q5_k_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 5>;
template [[host_name("mtmatvec_q5_k_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 6>;
template [[host_name("mtmatvec_q5_k_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 7>;
template [[host_name("mtmatvec_q5_k_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ5_K, 8>;

template [[host_name("mtmatvec_q6_k_qkv_n1")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 1>;
template [[host_name("mtmatvec_q6_k_qkv_n2")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 2>;
template [[host_name("mtmatvec_q6_k_qkv_n3")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 3>;
template [[host_name("mtmatvec_q6_k_qkv_n4")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 4>;
template [[host_name("mtmatvec_q6_k_qkv_n5")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 5>;
template [[host_name("mtmatvec_q6_k_qkv_n6")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 6>;
template [[host_name("mtmatvec_q6_k_qkv_n7")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 7>;
template [[host_name("mtmatvec_q6_k_qkv_n8")]] kernel mtmatvec_qkv_t mtmatvec_qkv<DecQ6_K, 8>;

template [[host_name("mtmatvec_f32_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 1>;
template [[host_name("mtmatvec_f32_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 2>;
template [[host_name("mtmatvec_f32_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 3>;
template [[host_name("mtmatvec_f32_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 4>;
template [[host_name("mtmatvec_f32_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 5>;
template [[host_name("mtmatvec_f32_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 6>;
template [[host_name("mtmatvec_f32_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 7>;
template [[host_name("mtmatvec_f32_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF32, 8>;

template [[host_name("mtmatvec_f16_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 1>;
template [[host_name("mtmatvec_f16_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 2>;
template [[host_name("mtmatvec_f16_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 3>;
template [[host_name("mtmatvec_f16_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 4>;
template [[host_name("mtmatvec_f16_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 5>;
template [[host_name("mtmatvec_f16_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 6>;
template [[host_name("mtmatvec_f16_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 7>;
template [[host_name("mtmatvec_f16_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecF16, 8>;

template [[host_name("mtmatvec_bf16_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 1>;
template [[host_name("mtmatvec_bf16_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 2>;
template [[host_name("mtmatvec_bf16_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 3>;
template [[host_name("mtmatvec_bf16_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 4>;
template [[host_name("mtmatvec_bf16_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 5>;
template [[host_name("mtmatvec_bf16_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 6>;
template [[host_name("mtmatvec_bf16_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 7>;
template [[host_name("mtmatvec_bf16_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecBF16, 8>;

template [[host_name("mtmatvec_q4_0_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 1>;
template [[host_name("mtmatvec_q4_0_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 2>;
template [[host_name("mtmatvec_q4_0_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 3>;
template [[host_name("mtmatvec_q4_0_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 4>;
template [[host_name("mtmatvec_q4_0_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 5>;
template [[host_name("mtmatvec_q4_0_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 6>;
template [[host_name("mtmatvec_q4_0_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 7>;
template [[host_name("mtmatvec_q4_0_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_0, 8>;

template [[host_name("mtmatvec_q8_0_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 1>;
template [[host_name("mtmatvec_q8_0_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 2>;
template [[host_name("mtmatvec_q8_0_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 3>;
template [[host_name("mtmatvec_q8_0_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 4>;
template [[host_name("mtmatvec_q8_0_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 5>;
template [[host_name("mtmatvec_q8_0_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 6>;
template [[host_name("mtmatvec_q8_0_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 7>;
template [[host_name("mtmatvec_q8_0_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ8_0, 8>;

template [[host_name("mtmatvec_q4_k_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 1>;
template [[host_name("mtmatvec_q4_k_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 2>;
template [[host_name("mtmatvec_q4_k_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 3>;
template [[host_name("mtmatvec_q4_k_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 4>;
template [[host_name("mtmatvec_q4_k_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 5>;
template [[host_name("mtmatvec_q4_k_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 6>;
template [[host_name("mtmatvec_q4_k_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 7>;
template [[host_name("mtmatvec_q4_k_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ4_K, 8>;

template [[host_name("mtmatvec_q5_k_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 1>;
template [[host_name("mtmatvec_q5_k_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 2>;
template [[host_name("mtmatvec_q5_k_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 3>;
template [[host_name("mtmatvec_q5_k_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 4>;
template [[host_name("mtmatvec_q5_k_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 5>;
template [[host_name("mtmatvec_q5_k_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 6>;
template [[host_name("mtmatvec_q5_k_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 7>;
template [[host_name("mtmatvec_q5_k_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ5_K, 8>;

template [[host_name("mtmatvec_q6_k_gate_up_n1")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 1>;
template [[host_name("mtmatvec_q6_k_gate_up_n2")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 2>;
template [[host_name("mtmatvec_q6_k_gate_up_n3")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 3>;
template [[host_name("mtmatvec_q6_k_gate_up_n4")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 4>;
template [[host_name("mtmatvec_q6_k_gate_up_n5")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 5>;
template [[host_name("mtmatvec_q6_k_gate_up_n6")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 6>;
template [[host_name("mtmatvec_q6_k_gate_up_n7")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 7>;
template [[host_name("mtmatvec_q6_k_gate_up_n8")]] kernel mtmatvec_gate_up_t mtmatvec_gate_up<DecQ6_K, 8>;
