// Embedding lookup and elementwise ops, one element per thread.

// embed: threadgroup (g, t) writes elements 256g.. of token t's row of the
// table, decoded natively from the weight type's blocks (the thread decodes
// the 16-element chunk holding its element). A token id outside the table
// yields NaN, never another token's row: the host checks ids, and a NaN
// cannot pass for a plausible answer.
template <typename B>
kernel void embed(
        device const uchar *table [[buffer(0)]],
        device const int *tokens [[buffer(1)]],
        device float *out [[buffer(2)]],
        constant EmbedParams &p [[buffer(3)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]]) {
    const int e = tgpig.x * ELT_THREADS + tiitg, t = tgpig.y;
    if (e >= p.dim) {
        return;
    }
    const int id = tokens[t];
    const ulong o = ulong(t) * p.dim + e;
    if (id < 0 || id >= p.vocab) {
        out[o] = NAN;
        return;
    }
    float w[16];
    B::load16(table + B::row_bytes(p.dim) * ulong(id), e & ~15, p.dim, w);
    out[o] = w[e & 15];
}

// swiglu: out = silu(gate)·up; out may be gate itself.
kernel void swiglu(
        device const float *gate [[buffer(0)]],
        device const float *up [[buffer(1)]],
        device float *out [[buffer(2)]],
        constant EltParams &p [[buffer(3)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]]) {
    const int i = tgpig.x * ELT_THREADS + tiitg;
    if (i < p.count) {
        out[i] = silu(gate[i]) * up[i];
    }
}

// add: out = a + b; out may be a itself.
kernel void add(
        device const float *a [[buffer(0)]],
        device const float *b [[buffer(1)]],
        device float *out [[buffer(2)]],
        constant EltParams &p [[buffer(3)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]]) {
    const int i = tgpig.x * ELT_THREADS + tiitg;
    if (i < p.count) {
        out[i] = a[i] + b[i];
    }
}

typedef decltype(embed<DecF32>) embed_t;

template [[host_name("embed_f32")]] kernel embed_t embed<DecF32>;
template [[host_name("embed_f16")]] kernel embed_t embed<DecF16>;
template [[host_name("embed_bf16")]] kernel embed_t embed<DecBF16>;
template [[host_name("embed_q4_0")]] kernel embed_t embed<DecQ4_0>;
template [[host_name("embed_q8_0")]] kernel embed_t embed<DecQ8_0>;
template [[host_name("embed_q4_k")]] kernel embed_t embed<DecQ4_K>;
template [[host_name("embed_q5_k")]] kernel embed_t embed<DecQ5_K>;
template [[host_name("embed_q6_k")]] kernel embed_t embed<DecQ6_K>;
