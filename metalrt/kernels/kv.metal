// KV cache stores. The caches are bound whole ([capacity, width] rows);
// token t of the step lands in row pos0 + t. C is the cache element type:
// float, or half (rounded to nearest even, as the CPU path rounds).

// kv_write: threadgroup (g, t) copies elements 256g.. of token t's K and V.
template <typename C>
kernel void kv_write(
        device const StepParams *step [[buffer(0)]],
        device const float *k [[buffer(1)]],
        device const float *v [[buffer(2)]],
        device C *k_cache [[buffer(3)]],
        device C *v_cache [[buffer(4)]],
        constant KVParams &p [[buffer(5)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]]) {
    const int i = tgpig.x * ELT_THREADS + tiitg, t = tgpig.y;
    const int pos = step->pos0 + t;
    if (i >= p.width || pos < 0 || pos >= p.capacity) {
        return;
    }
    const ulong src = ulong(t) * p.width + i, dst = ulong(pos) * p.width + i;
    k_cache[dst] = C(k[src]);
    v_cache[dst] = C(v[src]);
}

// rope_kv_write: threadgroup (h, t) ropes head h of token t's query into
// q_out; when h < kv_heads it also ropes K head h and stores it and V head h
// in the caches.
template <typename C>
kernel void rope_kv_write(
        device const StepParams *step [[buffer(0)]],
        device const float *q [[buffer(1)]],
        device const float *k [[buffer(2)]],
        device const float *v [[buffer(3)]],
        device float *q_out [[buffer(4)]],
        device C *k_cache [[buffer(5)]],
        device C *v_cache [[buffer(6)]],
        constant RopeKVParams &p [[buffer(7)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort3 ntg [[threads_per_threadgroup]]) {
    const int h = tgpig.x, t = tgpig.y;
    const int pos = step->pos0 + t;
    const int half_dims = p.dims / 2;

    const ulong qb = (ulong(t) * p.heads + h) * p.head_dim;
    for (int i = tiitg; i < half_dims; i += ntg.x) {
        const float2 r = rope_pair(q[qb + 2 * i], q[qb + 2 * i + 1], pos, i, p.dims, p.base, p.freq_scale);
        q_out[qb + 2 * i] = r.x;
        q_out[qb + 2 * i + 1] = r.y;
    }
    for (int e = p.dims + tiitg; e < p.head_dim; e += ntg.x) {
        q_out[qb + e] = q[qb + e];
    }

    if (h >= p.kv_heads || pos < 0 || pos >= p.capacity) {
        return;
    }
    const ulong width = ulong(p.kv_heads) * p.head_dim;
    const ulong kb = ulong(t) * width + ulong(h) * p.head_dim;
    const ulong cb = ulong(pos) * width + ulong(h) * p.head_dim;
    for (int i = tiitg; i < half_dims; i += ntg.x) {
        const float2 r = rope_pair(k[kb + 2 * i], k[kb + 2 * i + 1], pos, i, p.dims, p.base, p.freq_scale);
        k_cache[cb + 2 * i] = C(r.x);
        k_cache[cb + 2 * i + 1] = C(r.y);
    }
    for (int e = p.dims + tiitg; e < p.head_dim; e += ntg.x) {
        k_cache[cb + e] = C(k[kb + e]);
    }
    for (int e = tiitg; e < p.head_dim; e += ntg.x) {
        v_cache[cb + e] = C(v[kb + e]);
    }
}

// The cache type is in the signature: one function type per cache type.
typedef decltype(kv_write<float>) kv_write_f32_t;
typedef decltype(kv_write<half>) kv_write_f16_t;
typedef decltype(rope_kv_write<float>) rope_kv_write_f32_t;
typedef decltype(rope_kv_write<half>) rope_kv_write_f16_t;

template [[host_name("kv_write_f32")]] kernel kv_write_f32_t kv_write<float>;
template [[host_name("kv_write_f16")]] kernel kv_write_f16_t kv_write<half>;

template [[host_name("rope_kv_write_f32")]] kernel rope_kv_write_f32_t rope_kv_write<float>;
template [[host_name("rope_kv_write_f16")]] kernel rope_kv_write_f16_t rope_kv_write<half>;
