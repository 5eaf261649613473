// cuda_emulation.h: the part of CUDA that metalgraph's kernels use, in
// C++20, so that g++ compiles the kernels (with CUDART_EMULATION defined)
// and run.cpp executes them on a CPU with CUDA's execution model:
//   - a thread is a fiber with its own stack; the threads of a block run
//     until they reach a synchronisation point, where they wait for the
//     others. Blocks run one after the other, so a static variable is the
//     block's shared memory (__shared__ is `static`), and the dynamic
//     shared memory is one buffer (emu_dynamic_shared).
//   - __syncthreads waits for every thread of the block that has not
//     returned; __syncwarp, __shfl_sync, warp_sum and warp_max for every
//     such thread of the warp. Threads waiting at different kinds of
//     points is an error (a deadlock on the GPU).
//   - warp_sum and warp_max exchange the 32 lanes' values once and compute
//     the xor butterfly of common.cuh's shuffles in each lane, so their
//     results and rounding are those of the shuffles.
//   - half conversions go through _Float16 (round to nearest even, as
//     PTX cvt.rn does); math is the C library's; g++ builds with
//     -ffp-contract=off, where the GPU compiler may fuse a·b + c.
// Nothing here says whether NVRTC accepts the source or how fast it runs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

using std::max;
using std::min;

#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct emu_dim3 {
    unsigned x, y, z;
};
extern emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

// Synchronisation points, implemented by run.cpp's scheduler.
void emu_wait_block();
void emu_wait_warp();
// emu_exchange publishes v as this lane's value, waits for the warp, and
// returns the 32 lanes' values (absent lanes hold 0).
const float *emu_exchange(float v);
void *emu_dynamic_shared();

inline void __syncthreads() { emu_wait_block(); }
inline void __syncwarp() { emu_wait_warp(); }

inline float __shfl_sync(unsigned, float v, int src) { return emu_exchange(v)[src % 32]; }

// butterfly is the value lane holds after the xor-butterfly shuffles of
// common.cuh (o = 16, 8, 4, 2, 1) over the lanes' values v.
template <typename F> inline float emu_butterfly(const float *v, int lane, F op) {
    float cur[32];
    std::memcpy(cur, v, sizeof cur);
    for (int o = 16; o > 0; o >>= 1) {
        float next[32];
        for (int l = 0; l < 32; l++) {
            next[l] = op(cur[l], cur[l ^ o]);
        }
        std::memcpy(cur, next, sizeof cur);
    }
    return cur[lane];
}

inline float warp_sum(float v) {
    return emu_butterfly(emu_exchange(v), threadIdx.x % 32, [](float a, float b) { return a + b; });
}

inline float warp_max(float v) {
    return emu_butterfly(emu_exchange(v), threadIdx.x % 32, [](float a, float b) { return std::fmax(a, b); });
}

template <typename T> inline T __ldg(const T *p) { return *p; }

inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline int __float_as_int(float f) {
    int i;
    std::memcpy(&i, &f, 4);
    return i;
}

inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}

// __dp4a: the dot product of the four signed bytes of a and b, plus c.
inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; i++) {
        c += int(static_cast<signed char>(a >> (8 * i))) * int(static_cast<signed char>(b >> (8 * i)));
    }
    return c;
}

// f2i_rn rounds to the nearest integer, ties to even, as __float2int_rn.
inline int f2i_rn(float v) { return int(std::nearbyint(v)); }

// emu_lanes returns the 32 lanes' values of an int register (a warp
// exchange, like a shuffle).
inline void emu_lanes(int v, int (&all)[32]) {
    float f;
    std::memcpy(&f, &v, 4);
    std::memcpy(all, emu_exchange(f), sizeof all);
}

// mma_s8 is common.cuh's tensor-core product in its fragment layout: it
// gathers the warp's A and B fragments and computes this lane's 4 sums.
inline void mma_s8(int (&c)[4], const int (&a)[4], const int (&b)[2]) {
    int A[4][32], B[2][32];
    for (int r = 0; r < 4; r++) {
        emu_lanes(a[r], A[r]);
    }
    for (int r = 0; r < 2; r++) {
        emu_lanes(b[r], B[r]);
    }
    auto byte = [](int word, int k) { return int(static_cast<signed char>(word >> (8 * (k % 4)))); };
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) {
        const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        for (int k = 0; k < 32; k++) {
            const int a_lane = 4 * (row % 8) + (k % 16) / 4, a_reg = row / 8 + 2 * (k / 16);
            const int b_lane = 4 * col + (k % 16) / 4, b_reg = k / 16;
            c[i] += byte(A[a_reg][a_lane], k) * byte(B[b_reg][b_lane], k);
        }
    }
}

// mma_s8_k16 is common.cuh's m16n8k16 product.
inline void mma_s8_k16(int (&c)[4], const int (&a)[2], int b) {
    int A[2][32], B[32];
    for (int r = 0; r < 2; r++) {
        emu_lanes(a[r], A[r]);
    }
    emu_lanes(b, B);
    auto byte = [](int word, int k) { return int(static_cast<signed char>(word >> (8 * (k % 4)))); };
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) {
        const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        for (int k = 0; k < 16; k++) {
            c[i] += byte(A[row / 8][4 * (row % 8) + k / 4], k) * byte(B[4 * col + k / 4], k);
        }
    }
}

inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }

inline float emu_h2f(unsigned short h) {
    _Float16 v;
    std::memcpy(&v, &h, 2);
    return float(v);
}

inline unsigned short emu_f2h(float f) {
    _Float16 v = _Float16(f);
    unsigned short h;
    std::memcpy(&h, &v, 2);
    return h;
}

// mma_f16 is common.cuh's m16n8k16 product on halves with float sums,
// added in k order.
inline void mma_f16(float (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    int A[4][32], B[2][32];
    for (int r = 0; r < 4; r++) {
        emu_lanes(int(a[r]), A[r]);
    }
    for (int r = 0; r < 2; r++) {
        emu_lanes(int(b[r]), B[r]);
    }
    auto half = [](int word, int k) { return emu_h2f((unsigned short)(unsigned(word) >> (16 * (k % 2)))); };
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) {
        const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        for (int k = 0; k < 16; k++) {
            const int a_lane = 4 * (row % 8) + (k % 8) / 2, a_reg = row / 8 + 2 * (k / 8);
            const int b_lane = 4 * col + (k % 8) / 2, b_reg = k / 8;
            c[i] += half(A[a_reg][a_lane], k) * half(B[b_reg][b_lane], k);
        }
    }
}

// tf32_bits rounds v to TF32 as cvt.rna.tf32.f32 does: to the nearest of
// 10 mantissa bits, ties away from zero (finite v).
inline unsigned tf32_bits(float v) {
    unsigned u;
    std::memcpy(&u, &v, 4);
    return (u + 0x1000u) & ~0x1fffu;
}

// mma_tf32 is common.cuh's m16n8k8 product on TF32 with float sums, added
// in k order; the tensor cores ignore an operand's 13 low bits.
inline void mma_tf32(float (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    int A[4][32], B[2][32];
    for (int r = 0; r < 4; r++) {
        emu_lanes(int(a[r]), A[r]);
    }
    for (int r = 0; r < 2; r++) {
        emu_lanes(int(b[r]), B[r]);
    }
    auto tf32 = [](int word) {
        const unsigned u = unsigned(word) & ~0x1fffu;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    };
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) {
        const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        for (int k = 0; k < 8; k++) {
            const int a_lane = 4 * (row % 8) + k % 4, a_reg = row / 8 + 2 * (k / 4);
            const int b_lane = 4 * col + k % 4, b_reg = k / 4;
            c[i] += tf32(A[a_reg][a_lane]) * tf32(B[b_reg][b_lane]);
        }
    }
}
