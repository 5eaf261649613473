// RMS norm and rotary position embedding.

// rmsnorm: out = x · 1/sqrt(mean(x²) + eps) · weight, one threadgroup per
// token row. Threads stride over the row summing squares; simd_sum reduces
// each simdgroup, the simdgroup sums meet in threadgroup memory and the
// first simdgroup adds them.
kernel void rmsnorm(
        device const float *x [[buffer(0)]],
        device const float *weight [[buffer(1)]],
        device float *out [[buffer(2)]],
        constant NormParams &p [[buffer(3)]],
        threadgroup float *partial [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort3 ntg [[threads_per_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const ulong row = ulong(tgpig.x) * p.dim;
    device const float *xr = x + row;
    float s = 0.0f;
    for (int i = tiitg; i < p.dim; i += ntg.x) {
        s += xr[i] * xr[i];
    }
    s = simd_sum(s);
    if (tiisg == 0) {
        partial[sgitg] = s;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (sgitg == 0) {
        float t = tiisg < ntg.x / 32 ? partial[tiisg] : 0.0f;
        t = simd_sum(t);
        if (tiisg == 0) {
            partial[0] = t;
        }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const float scale = 1.0f / sqrt(partial[0] / float(p.dim) + p.eps);
    for (int i = tiitg; i < p.dim; i += ntg.x) {
        out[row + i] = xr[i] * scale * weight[i];
    }
}

// rope: threadgroup (head, token) rotates pairs (2i, 2i+1), i < dims/2, of
// the head at position pos0 + token and copies the unrotated rest.
kernel void rope(
        device const StepParams *step [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device float *out [[buffer(2)]],
        constant RopeParams &p [[buffer(3)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort3 ntg [[threads_per_threadgroup]]) {
    const int h = tgpig.x, t = tgpig.y;
    const int pos = step->pos0 + t;
    const ulong base = (ulong(t) * p.heads + h) * p.head_dim;
    for (int i = tiitg; i < p.dims / 2; i += ntg.x) {
        const float2 r = rope_pair(x[base + 2 * i], x[base + 2 * i + 1], pos, i, p.dims, p.base, p.freq_scale);
        out[base + 2 * i] = r.x;
        out[base + 2 * i + 1] = r.y;
    }
    for (int e = p.dims + tiitg; e < p.head_dim; e += ntg.x) {
        out[base + e] = x[base + e];
    }
}
