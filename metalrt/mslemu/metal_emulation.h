// metal_emulation.h: the part of the Metal Shading Language that
// metalgraph's kernels use, in C++20, so that g++ type-checks the kernels
// and run.cpp executes them on a CPU with Metal's execution model.
//
// What each Metal construct maps to:
//   - address spaces (device, constant, threadgroup, thread) and `kernel`:
//     empty macros, defined in ./metal_stdlib only, so they reach the kernel
//     source and nothing else. Constness is kept, so writing through a
//     `device const` pointer does not compile.
//   - scalar types: half is _Float16 (IEEE binary16, conversions round to
//     nearest even as Metal's do); uchar, ushort, uint, ulong are the
//     unsigned types of 8, 16, 32, 64 bits; char is signed (run.cpp builds
//     with -fsigned-char, as Metal's char is).
//   - vectors: vec<T, N> for N = 2, 3, 4 with .x .y .z .w, element-wise
//     constructors, explicit conversion between element types, and the
//     alignment of Metal's vectors (N = 3 excepted: its 4-element padding is
//     not modelled); packed_* types have the element's alignment and convert
//     to the vector. Vector arithmetic is not provided (no kernel uses it).
//   - math: float min, max (fmax semantics: a NaN argument yields the
//     other), exp, sin, cos, pow, sqrt are the C library's, correctly
//     rounded or close; dot of float4; as_type is a bit copy.
//   - a thread is a fiber (run.cpp): every thread of a threadgroup has its
//     own stack and runs until it reaches a synchronisation point, where it
//     waits for the others. Threadgroups run one after the other.
//   - threadgroup_barrier: waits until every thread of the threadgroup is
//     there. A thread that returned before a barrier the others wait at is
//     an error, as are threads waiting at different barriers (Metal leaves
//     both undefined).
//   - simd_sum, simd_max, simd_broadcast and simdgroup_barrier: wait until
//     every thread of the simdgroup (32 lanes) that has not returned is
//     there, then compute over those lanes in lane order. Lanes that reach
//     different simdgroup functions or barriers are an error: Metal runs
//     simdgroup functions in divergent code over the active lanes only, the
//     emulation requires them to be simdgroup-uniform.
//   - simdgroup_matrix<T, Cols, Rows>: every lane holds the whole matrix and
//     computes loads, fills and multiply-accumulates itself (products and
//     sums in float, k in order). simdgroup_store is a simdgroup function:
//     it checks that all lanes hold the same matrix and store it to the
//     same place, then stores it once. The hardware's distribution of a
//     matrix over lanes (thread_elements) is not modelled.
//
// Known differences from real Metal, besides those above: Metal's math
// functions are within a few ULP where these are exact or nearly so;
// summation order in simd_sum and simdgroup multiplies differs from the
// hardware's; the compiler may contract a·b + c into a fused multiply-add
// where g++ does not; denormals are kept; memory is coherent at all times,
// so a missing barrier only shows as a result that depends on the order the
// threads run in (run.cpp runs every kernel twice, in two very different
// orders, and compares). Nothing here says whether Apple's compiler accepts the source
// or how fast the kernels are; loads.h counts how they load device memory.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef uint64_t ulong;
typedef _Float16 half;

// ---- the scheduler's side of a synchronisation point (run.cpp) ----

namespace mslemu {

struct Lane;

// A Combine finishes a simdgroup function once every active lane of the
// simdgroup waits in it: it reads each lane's operands and writes each
// lane's result. active lists those lanes in lane order.
typedef void (*Combine)(Lane *const *active, int n);

// Scope is what a waiting thread waits for.
enum class Scope : uint8_t { none, simdgroup, threadgroup };

// Lane is the state of one emulated thread that simdgroup functions use:
// operands of the function it waits in, and where its result goes.
struct Lane {
    int lane;            // index in the simdgroup
    const void *arg;     // the operand
    void *res;           // where the result goes (simdgroup_store: the destination)
    long iarg;           // an integer operand (lane id, elements per row)
};

// current is the thread running now.
extern Lane *current;

// wait suspends the current thread at a synchronisation point of scope,
// named what at loc, until the scheduler releases it; for a simdgroup
// function the scheduler runs combine first.
void wait(Scope scope, const char *what, const std::source_location &loc, Combine combine);

// fail reports a kernel error with the current thread's position and ends
// the run.
[[noreturn]] void fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

} // namespace mslemu

// ---- vectors ----

namespace metal {

template <typename T, int N> struct vec;

template <typename T> struct alignas(2 * sizeof(T)) vec<T, 2> {
    T x, y;
    vec() = default;
    vec(T a, T b) : x(a), y(b) {}
    template <typename U> explicit vec(const vec<U, 2> &o) : x(T(o.x)), y(T(o.y)) {}
};

template <typename T> struct vec<T, 3> {
    T x, y, z;
    vec() = default;
    vec(T a, T b, T c) : x(a), y(b), z(c) {}
    template <typename U> explicit vec(const vec<U, 3> &o) : x(T(o.x)), y(T(o.y)), z(T(o.z)) {}
};

// packed4 is a packed_T4: four elements at the element's alignment.
template <typename T> struct packed4 {
    T x, y, z, w;
};

template <typename T> struct alignas(4 * sizeof(T)) vec<T, 4> {
    T x, y, z, w;
    vec() = default;
    vec(T a, T b, T c, T d) : x(a), y(b), z(c), w(d) {}
    template <typename U> explicit vec(const vec<U, 4> &o) : x(T(o.x)), y(T(o.y)), z(T(o.z)), w(T(o.w)) {}
    explicit vec(const packed4<T> &p) : x(p.x), y(p.y), z(p.z), w(p.w) {}
};

} // namespace metal

typedef metal::vec<float, 2> float2;
typedef metal::vec<float, 4> float4;
typedef metal::vec<half, 4> half4;
typedef metal::vec<uchar, 2> uchar2;
typedef metal::vec<ushort, 4> ushort4;
typedef metal::vec<uint, 3> uint3;
typedef metal::vec<ushort, 3> ushort3;
typedef metal::packed4<float> packed_float4;
typedef metal::packed4<half> packed_half4;
typedef metal::packed4<ushort> packed_ushort4;

namespace metal {

// ---- math ----

template <typename T> inline T min(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        return std::fmin(a, b);
    } else {
        return b < a ? b : a;
    }
}
template <typename T> inline T max(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        return std::fmax(a, b);
    } else {
        return a < b ? b : a;
    }
}
inline float exp(float x) { return std::exp(x); }
inline float sin(float x) { return std::sin(x); }
inline float cos(float x) { return std::cos(x); }
inline float pow(float x, float y) { return std::pow(x, y); }
inline float sqrt(float x) { return std::sqrt(x); }
inline float dot(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }

// as_type reinterprets the bits of a value of the same size.
template <typename T, typename U> inline T as_type(U u) {
    static_assert(sizeof(T) == sizeof(U), "as_type between types of different sizes");
    T t;
    std::memcpy(&t, &u, sizeof t);
    return t;
}

// ---- barriers ----

// The flags name the memory a barrier orders; memory is always coherent
// here, so only the waiting matters.
enum class mem_flags { mem_none, mem_device, mem_threadgroup };

inline void threadgroup_barrier(mem_flags, const std::source_location loc = std::source_location::current()) {
    mslemu::wait(mslemu::Scope::threadgroup, "threadgroup_barrier", loc, nullptr);
}

inline void simdgroup_barrier(mem_flags, const std::source_location loc = std::source_location::current()) {
    mslemu::wait(mslemu::Scope::simdgroup, "simdgroup_barrier", loc, nullptr);
}

// ---- simdgroup functions ----

namespace detail {

template <typename T, T (*Op)(T, T)> void reduce(mslemu::Lane *const *l, int n) {
    T r = *static_cast<const T *>(l[0]->arg);
    for (int i = 1; i < n; i++) {
        r = Op(r, *static_cast<const T *>(l[i]->arg));
    }
    for (int i = 0; i < n; i++) {
        *static_cast<T *>(l[i]->res) = r;
    }
}

template <typename T> T add(T a, T b) { return a + b; }

template <typename T> void broadcast(mslemu::Lane *const *l, int n) {
    const long src = l[0]->iarg;
    const mslemu::Lane *from = nullptr;
    for (int i = 0; i < n; i++) {
        if (l[i]->iarg != src) {
            mslemu::fail("simd_broadcast: lane %d reads lane %ld, lane %d reads lane %ld (the lane must be uniform)",
                         l[0]->lane, src, l[i]->lane, l[i]->iarg);
        }
        if (l[i]->lane == src) {
            from = l[i];
        }
    }
    if (from == nullptr) {
        mslemu::fail("simd_broadcast from lane %ld, which is not active", src);
    }
    for (int i = 0; i < n; i++) {
        *static_cast<T *>(l[i]->res) = *static_cast<const T *>(from->arg);
    }
}

// collective runs a simdgroup function: this lane's operand v, result r.
template <typename T>
inline T collective(const char *what, T v, long iarg, mslemu::Combine combine, const std::source_location &loc) {
    T r;
    mslemu::current->arg = &v;
    mslemu::current->res = &r;
    mslemu::current->iarg = iarg;
    mslemu::wait(mslemu::Scope::simdgroup, what, loc, combine);
    return r;
}

} // namespace detail

template <typename T> inline T simd_sum(T v, const std::source_location loc = std::source_location::current()) {
    return detail::collective("simd_sum", v, 0, detail::reduce<T, detail::add<T>>, loc);
}

template <typename T> inline T simd_max(T v, const std::source_location loc = std::source_location::current()) {
    return detail::collective("simd_max", v, 0, detail::reduce<T, max<T>>, loc);
}

template <typename T>
inline T simd_broadcast(T v, ushort lane, const std::source_location loc = std::source_location::current()) {
    return detail::collective("simd_broadcast", v, lane, detail::broadcast<T>, loc);
}

// ---- simdgroup matrices ----

// simdgroup_matrix<T, Cols, Rows>: element (row i, column j) is v[i][j].
template <typename T, int Cols, int Rows> struct simdgroup_matrix {
    T v[Rows][Cols];
};

template <typename T, int Cols, int Rows>
inline simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(T x) {
    simdgroup_matrix<T, Cols, Rows> m;
    for (int i = 0; i < Rows; i++) {
        for (int j = 0; j < Cols; j++) {
            m.v[i][j] = x;
        }
    }
    return m;
}

// simdgroup_load reads row i from src + i·elements_per_row.
template <typename T, int Cols, int Rows, typename P>
inline void simdgroup_load(simdgroup_matrix<T, Cols, Rows> &d, const P *src, ulong elements_per_row) {
    static_assert(std::is_same_v<std::remove_cv_t<P>, T>, "simdgroup_load from memory of another element type");
    for (int i = 0; i < Rows; i++) {
        for (int j = 0; j < Cols; j++) {
            d.v[i][j] = src[i * elements_per_row + j];
        }
    }
}

// d = a·b + c with a Rows×K, b K×Cols; mixed element types multiply in
// float, as Metal allows half × float.
template <typename TD, typename TA, typename TB, typename TC, int Cols, int Rows, int K>
inline void simdgroup_multiply_accumulate(simdgroup_matrix<TD, Cols, Rows> &d, const simdgroup_matrix<TA, K, Rows> &a,
                                          const simdgroup_matrix<TB, Cols, K> &b,
                                          const simdgroup_matrix<TC, Cols, Rows> &c) {
    float fa[Rows][K], fb[K][Cols]; // converted once: half → float is a library call on most x86
    for (int i = 0; i < Rows; i++) {
        for (int k = 0; k < K; k++) {
            fa[i][k] = float(a.v[i][k]);
        }
    }
    for (int k = 0; k < K; k++) {
        for (int j = 0; j < Cols; j++) {
            fb[k][j] = float(b.v[k][j]);
        }
    }
    simdgroup_matrix<TD, Cols, Rows> r;
    for (int i = 0; i < Rows; i++) {
        for (int j = 0; j < Cols; j++) {
            float s = float(c.v[i][j]);
            for (int k = 0; k < K; k++) {
                s += fa[i][k] * fb[k][j];
            }
            r.v[i][j] = TD(s);
        }
    }
    d = r;
}

namespace detail {

template <typename T, int Cols, int Rows> void store(mslemu::Lane *const *l, int n) {
    typedef simdgroup_matrix<T, Cols, Rows> M;
    const M *m = static_cast<const M *>(l[0]->arg);
    for (int i = 1; i < n; i++) {
        if (l[i]->res != l[0]->res || l[i]->iarg != l[0]->iarg) {
            mslemu::fail("simdgroup_store: lanes %d and %d store to different places", l[0]->lane, l[i]->lane);
        }
        if (std::memcmp(l[i]->arg, m, sizeof(M)) != 0) {
            mslemu::fail("simdgroup_store: lanes %d and %d hold different matrices (an operand was not uniform: "
                         "a race on threadgroup memory?)", l[0]->lane, l[i]->lane);
        }
    }
    T *dst = static_cast<T *>(l[0]->res);
    for (int i = 0; i < Rows; i++) {
        for (int j = 0; j < Cols; j++) {
            dst[i * l[0]->iarg + j] = m->v[i][j];
        }
    }
}

} // namespace detail

// simdgroup_store writes row i to dst + i·elements_per_row, once per
// simdgroup.
template <typename T, int Cols, int Rows>
inline void simdgroup_store(const simdgroup_matrix<T, Cols, Rows> &s, T *dst, ulong elements_per_row,
                            const std::source_location loc = std::source_location::current()) {
    mslemu::current->arg = &s;
    mslemu::current->res = dst;
    mslemu::current->iarg = long(elements_per_row);
    mslemu::wait(mslemu::Scope::simdgroup, "simdgroup_store", loc, detail::store<T, Cols, Rows>);
}

} // namespace metal

typedef metal::simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
