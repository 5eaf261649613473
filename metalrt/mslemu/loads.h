// loads.h: device-memory load accounting for run.cpp, compiled in when
// MSLEMU_LOADS is defined (metalrt's TestKernelEfficiency builds it so).
//
// g++ instruments every memory access of the translation unit as
// ThreadSanitizer would (-fsanitize=thread, compiled only: the runtime is
// not linked); the __tsan_read* hooks below keep the loads that fall in a
// device buffer while a kernel thread runs in the first (ascending) order.
// Loads from constant-address-space buffers, threadgroup memory and the
// threads' stacks are not device-memory loads and are not counted.
//
// A lane's loads of adjacent bytes, in order, merge into one access of up
// to 16 bytes, as Metal's compiler combines them into a vector load: so
// the figures do not depend on how g++ splits or vectorises a load.
//
// Over all such accesses of a dispatch, per buffer offset (the binding's
// start is sector-aligned, as GGUF tensors and Metal buffers are):
//   - asked: per simdgroup and k, the distinct bytes the k-th accesses of
//     its lanes ask for (bytes several lanes ask for are served once);
//   - sector_bytes: 32 × the distinct 32-byte sectors those accesses touch;
//   - loaded: the bytes of every access; distinct: the bytes loaded at
//     least once.
// Sector efficiency is asked / sector_bytes, reuse loaded / distinct.
// After the writable buffers, stdout gets one line:
//   "mslemu loads: asked=A sector_bytes=S loaded=L distinct=D\n"
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace mslemu::loads {

#if defined(MSLEMU_LOADS)
constexpr bool enabled = true;
#else
constexpr bool enabled = false;
#endif

// The accounting's own accesses must not call the hooks again; what it
// calls into (std::vector) still may, hence the guard in record.
#define MSLEMU_UNCOUNTED __attribute__((no_sanitize_thread))

struct Access {
    int buf;       // index into tracked
    uint64_t off;  // from the buffer's start
    uint32_t len;
};

struct Tracked {
    const char *data;
    size_t len;
    std::vector<uint8_t> seen; // bytes loaded at least once
};

static bool on;                                   // counting: kernel code of the first order
static bool recording;                            // inside record
static int thread_index = -1;                     // the running thread, -1 in the scheduler
static std::vector<Tracked> tracked;              // the dispatch's device buffers
static std::vector<std::vector<Access>> accesses; // per thread of the threadgroup, in order
static uint64_t asked, sector_bytes, loaded;

MSLEMU_UNCOUNTED static void track(const char *data, size_t len) { tracked.push_back(Tracked{data, len, std::vector<uint8_t>(len)}); }

// count adds a load of n bytes at a by the running thread, in pieces of
// at most 16 bytes (the widest load a lane makes).
MSLEMU_UNCOUNTED static void count(const char *a, size_t n) {
    for (; n > 16; n -= 16, a += 16) {
        count(a, 16);
    }
    for (size_t b = 0; b < tracked.size(); b++) {
        Tracked &t = tracked[b];
        if (a < t.data || a >= t.data + t.len) {
            continue;
        }
        const uint64_t off = uint64_t(a - t.data);
        loaded += n;
        std::fill_n(t.seen.begin() + off, std::min<size_t>(n, t.len - off), uint8_t(1));
        std::vector<Access> &l = accesses[thread_index];
        if (!l.empty()) {
            Access &last = l.back();
            if (last.buf == int(b) && last.off + last.len == off && last.len + n <= 16) {
                last.len += uint32_t(n);
                return;
            }
        }
        l.push_back(Access{int(b), off, uint32_t(n)});
        return;
    }
}

// record counts a load of n bytes at p if a kernel thread is running.
MSLEMU_UNCOUNTED static void record(const void *p, size_t n) {
    if (!on || thread_index < 0 || recording) {
        return;
    }
    recording = true;
    count(static_cast<const char *>(p), n);
    recording = false;
}

// simdgroup_loads adds the k-th accesses of each lane of the simdgroup of
// threads s0..s0+n−1, for every k, to asked and sector_bytes.
MSLEMU_UNCOUNTED static void simdgroup_loads(size_t s0, size_t n) {
    size_t most = 0;
    for (size_t i = s0; i < s0 + n; i++) {
        most = std::max(most, accesses[i].size());
    }
    std::vector<Access> group;
    for (size_t k = 0; k < most; k++) {
        group.clear();
        for (size_t i = s0; i < s0 + n; i++) {
            if (k < accesses[i].size()) {
                group.push_back(accesses[i][k]);
            }
        }
        std::sort(group.begin(), group.end(),
                  [](const Access &x, const Access &y) { return x.buf != y.buf ? x.buf < y.buf : x.off < y.off; });
        int buf = -1;
        uint64_t end = 0, next_sector = 0; // within buf: bytes and sectors counted so far
        for (const Access &a : group) {
            if (a.buf != buf) {
                buf = a.buf;
                end = next_sector = 0;
            }
            const uint64_t lo = std::max(a.off, end), hi = a.off + a.len;
            if (hi > lo) {
                asked += hi - lo;
                end = hi;
            }
            const uint64_t first = std::max(a.off / 32, next_sector), last = (hi - 1) / 32;
            if (last >= first) {
                sector_bytes += 32 * (last - first + 1);
                next_sector = last + 1;
            }
        }
    }
}

// begin_threadgroup readies the access lists of nt threads.
MSLEMU_UNCOUNTED static void begin_threadgroup(size_t nt) {
    accesses.resize(nt);
    for (std::vector<Access> &l : accesses) {
        l.clear();
    }
}

MSLEMU_UNCOUNTED static void end_threadgroup(size_t simd_width) {
    for (size_t s0 = 0; s0 < accesses.size(); s0 += simd_width) {
        simdgroup_loads(s0, std::min(simd_width, accesses.size() - s0));
    }
}

MSLEMU_UNCOUNTED static void report(FILE *out) {
    uint64_t distinct = 0;
    for (const Tracked &t : tracked) {
        distinct += uint64_t(std::count(t.seen.begin(), t.seen.end(), uint8_t(1)));
    }
    fprintf(out, "mslemu loads: asked=%llu sector_bytes=%llu loaded=%llu distinct=%llu\n",
            (unsigned long long)asked, (unsigned long long)sector_bytes, (unsigned long long)loaded,
            (unsigned long long)distinct);
}

} // namespace mslemu::loads

// The hooks g++'s -fsanitize=thread instrumentation calls; writes, and the
// runtime's start-up, are of no interest here.
extern "C" {
void __tsan_init() {}
MSLEMU_UNCOUNTED void __tsan_read1(void *p) { mslemu::loads::record(p, 1); }
MSLEMU_UNCOUNTED void __tsan_read2(void *p) { mslemu::loads::record(p, 2); }
MSLEMU_UNCOUNTED void __tsan_read4(void *p) { mslemu::loads::record(p, 4); }
MSLEMU_UNCOUNTED void __tsan_read8(void *p) { mslemu::loads::record(p, 8); }
MSLEMU_UNCOUNTED void __tsan_read16(void *p) { mslemu::loads::record(p, 16); }
MSLEMU_UNCOUNTED void __tsan_unaligned_read2(void *p) { mslemu::loads::record(p, 2); }
MSLEMU_UNCOUNTED void __tsan_unaligned_read4(void *p) { mslemu::loads::record(p, 4); }
MSLEMU_UNCOUNTED void __tsan_unaligned_read8(void *p) { mslemu::loads::record(p, 8); }
MSLEMU_UNCOUNTED void __tsan_unaligned_read16(void *p) { mslemu::loads::record(p, 16); }
MSLEMU_UNCOUNTED void __tsan_read_range(void *p, unsigned long n) { mslemu::loads::record(p, n); }
void __tsan_write1(void *) {}
void __tsan_write2(void *) {}
void __tsan_write4(void *) {}
void __tsan_write8(void *) {}
void __tsan_write16(void *) {}
void __tsan_unaligned_write2(void *) {}
void __tsan_unaligned_write4(void *) {}
void __tsan_unaligned_write8(void *) {}
void __tsan_unaligned_write16(void *) {}
void __tsan_write_range(void *, unsigned long) {}
// run.cpp's function-local statics read their guard variable atomically.
MSLEMU_UNCOUNTED char __tsan_atomic8_load(const volatile char *a, int) { return __atomic_load_n(a, __ATOMIC_ACQUIRE); }
}
