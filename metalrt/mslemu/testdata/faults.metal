// Kernels for metalrt's TestEmulatorCatches: two that use the emulated
// primitives correctly, with known results, and one per mistake the
// emulator must stop with a message naming it.

#include <metal_stdlib>
using namespace metal;

// primitives, 64 threads: out[4t..4t+3] = simd_sum(lane) = 496,
// simd_max(lane + 32·simdgroup), simd_broadcast(10·lane, 5) = 50, and
// thread 63 − t's value passed through threadgroup memory.
kernel void primitives(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]],
        ushort sg [[simdgroup_index_in_threadgroup]],
        ushort lane [[thread_index_in_simdgroup]]) {
    out[4 * tid] = simd_sum(float(lane));
    out[4 * tid + 1] = simd_max(float(lane + 32 * sg));
    out[4 * tid + 2] = simd_broadcast(float(10 * lane), 5);
    shm[tid] = float(tid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[4 * tid + 3] = shm[63 - tid];
}

// matrix, 32 threads: C = A·S + I with A[i][k] = 8i + k and S the shift
// S[k][j] = (k == j + 1), so C[i][j] = A[i][j + 1] + (i == j), the last
// column just (i == 7).
kernel void matrix(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    for (short e = tid; e < 64; e += 32) {
        const short i = e / 8, k = e % 8;
        shm[e] = float(e);
        shm[64 + e] = i == k + 1 ? 1.0f : 0.0f;
        shm[128 + e] = i == k ? 1.0f : 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    simdgroup_float8x8 a, s, c;
    simdgroup_load(a, shm, 8);
    simdgroup_load(s, shm + 64, 8);
    simdgroup_load(c, shm + 128, 8);
    simdgroup_multiply_accumulate(c, a, s, c);
    simdgroup_store(c, out, 8);
}

// race: reads the next thread's threadgroup memory without a barrier.
kernel void race(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    shm[tid] = float(tid);
    out[tid] = shm[(tid + 1) % 64];
}

// skew: after the barrier, simdgroup 1 reads its slots at once while
// simdgroup 0 overwrites them past a simdgroup function: only a schedule
// where one simdgroup runs ahead of the other shows the race.
kernel void skew(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]],
        ushort sg [[simdgroup_index_in_threadgroup]],
        ushort lane [[thread_index_in_simdgroup]]) {
    shm[tid] = 1.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (sg == 0) {
        shm[32 + lane] = simd_sum(1.0f);
    }
    out[tid] = shm[tid];
}

// same_place: every threadgroup writes its index to out[0].
kernel void same_place(
        device float *out [[buffer(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]]) {
    out[0] = float(tgpig.x);
}

// diverged: half the simdgroup sums, the other half takes the maximum.
kernel void diverged(
        device float *out [[buffer(0)]],
        ushort lane [[thread_index_in_simdgroup]]) {
    float v = float(lane);
    if (lane < 16) {
        v = simd_sum(v);
    } else {
        v = simd_max(v);
    }
    out[lane] = v;
}

// early_return: the second simdgroup returns before a threadgroup barrier.
kernel void early_return(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    if (tid >= 32) {
        return;
    }
    shm[tid] = 1.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[tid] = shm[31 - tid];
}

// two_barriers: the two simdgroups wait at different barriers.
kernel void two_barriers(
        device float *out [[buffer(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    if (tid < 32) {
        threadgroup_barrier(mem_flags::mem_device);
    } else {
        threadgroup_barrier(mem_flags::mem_device);
    }
    out[tid] = 1.0f;
}

// stuck: half a simdgroup waits at a threadgroup barrier, the other half
// in a simdgroup function.
kernel void stuck(
        device float *out [[buffer(0)]],
        ushort lane [[thread_index_in_simdgroup]]) {
    float v = 1.0f;
    if (lane < 16) {
        threadgroup_barrier(mem_flags::mem_device);
    } else {
        v = simd_sum(v);
    }
    out[lane] = v;
}

// broadcast_lane: each lane reads its neighbour, not one lane for all.
kernel void broadcast_lane(
        device float *out [[buffer(0)]],
        ushort lane [[thread_index_in_simdgroup]]) {
    out[lane] = simd_broadcast(float(lane), ushort(lane ^ 1));
}

// matrix_lanes: each lane fills the matrix with its own value.
kernel void matrix_lanes(
        device float *out [[buffer(0)]],
        ushort lane [[thread_index_in_simdgroup]]) {
    simdgroup_float8x8 m = make_filled_simdgroup_matrix<float, 8, 8>(float(lane));
    simdgroup_store(m, out, 8);
}

// store: thread t writes out[t]; the test binds buffers too short for it.
kernel void store(
        device float *out [[buffer(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    out[tid] = float(tid);
}

// read_only: writes through a pointer whose const was cast away.
kernel void read_only(
        device const float *in [[buffer(0)]],
        device float *out [[buffer(1)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    ((device float *)in)[tid] = 0.0f;
    out[tid] = 1.0f;
}

// tg_overrun: writes past the end of 64 floats of threadgroup memory.
kernel void tg_overrun(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    shm[tid + 1] = 1.0f;
    out[tid] = 1.0f;
}

// uninitialised: reads threadgroup memory that no thread wrote.
kernel void uninitialised(
        device float *out [[buffer(0)]],
        threadgroup float *shm [[threadgroup(0)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    out[tid] = shm[tid];
}
