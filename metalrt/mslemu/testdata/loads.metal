// Kernels for metalrt's TestLoadAccounting: device-memory loads with known
// sector efficiency and reuse (mslemu/loads.h), each run as one
// threadgroup of 64 threads.

#include <metal_stdlib>
using namespace metal;

// contiguous: thread t reads float t; every simdgroup-wide load asks for
// whole sectors, and no byte twice.
kernel void contiguous(
        device const float *in [[buffer(0)]],
        device float *out [[buffer(1)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    out[tid] = in[tid];
}

// strided: thread t reads float 8t, one float of each 32-byte sector.
kernel void strided(
        device const float *in [[buffer(0)]],
        device float *out [[buffer(1)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    out[tid] = in[8 * tid];
}

// everyone: every thread reads all 64 floats of in, and of the constant
// buffer c, whose loads are not device-memory loads.
kernel void everyone(
        device const float *in [[buffer(0)]],
        constant float *c [[buffer(1)]],
        device float *out [[buffer(2)]],
        ushort tid [[thread_index_in_threadgroup]]) {
    float s = 0.0f;
    for (int e = 0; e < 64; e++) {
        s += in[e] * c[e];
    }
    out[tid] = s;
}
