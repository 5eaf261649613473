// run.cpp: runs one dispatch of a metalgraph MSL kernel on the CPU with
// Metal's execution model; metal_emulation.h says how each Metal construct
// is emulated and what differs from a GPU.
//
// metalrt's TestKernelsOnEmulator builds it, roughly:
//
//   g++ -std=c++20 -O1 -fsigned-char -fno-strict-aliasing -Wno-attributes \
//       -I metalrt/mslemu -I GEN metalrt/mslemu/run.cpp -o mslemu
//
// where GEN holds kernels.metal (metalrt.LibrarySource()) and kernels.inc,
// the launch table the test generates from the kernels' signatures: one
//   {"host_name", launcher, {buffer indices}, takes threadgroup memory},
// per kernel, the launcher casting each [[buffer(i)]] to its parameter type.
//
// A dispatch comes on stdin, little-endian:
//   "mslemu1\n"
//   u32 name length, name (the kernel's host name)
//   u32 threadgroups[3], threads per threadgroup[3], threadgroup memory bytes
//   u32 buffer count, then per buffer: u32 index, u32 writable (0 or 1),
//   u64 length, the bytes
// and the bytes of the writable buffers, in input order, go to stdout.
// Exit status 1: bad input; 2: the kernel did something Metal leaves
// undefined or that cannot be right (message on stderr).
//
// Every buffer lives in its own mapping, its last byte against an
// inaccessible page (as is the start of threadgroup memory); read-only
// buffers are mapped read-only; the bytes between a buffer's page start and
// the buffer are checked for writes afterwards. An access outside a
// buffer therefore stops the run with a message naming the buffer, the
// threadgroup and the thread. Threadgroup memory starts out as 0xff bytes
// (NaN as float or half) in every threadgroup.
//
// The dispatch runs twice, in two orders a GPU may follow: threadgroups
// in ascending order, each simdgroup running as far as it can before the
// next starts; then threadgroups in descending order, every thread (last
// first) taken to its next synchronisation point before any goes further.
// Results that differ mean the kernel depends on the order threads run in:
// a race, such as a missing barrier.
//
// Built with -DMSLEMU_LOADS and g++'s -fsanitize=thread instrumentation,
// it also accounts for the kernel's device-memory loads and reports them
// on a line after the writable buffers (loads.h).

#if defined(__APPLE__)
#define _XOPEN_SOURCE 700 // macOS declares the ucontext functions only then
#define _DARWIN_C_SOURCE  // and hides MAP_ANONYMOUS unless asked
#endif

#include "metal_emulation.h"

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define MSLEMU_ASAN 1
#endif

#include "kernels.metal" // the kernel library, through ./metal_stdlib
#include "loads.h"

#undef device
#undef constant
#undef threadgroup
#undef thread
#undef kernel

namespace mslemu {

// ThreadPos is what the thread-position attributes of a kernel read.
struct ThreadPos {
    uint3 tgpig;        // [[threadgroup_position_in_grid]]
    ushort tiitg;       // [[thread_index_in_threadgroup]]
    ushort sgitg;       // [[simdgroup_index_in_threadgroup]]
    ushort tiisg;       // [[thread_index_in_simdgroup]]
    ushort3 ntg;        // [[threads_per_threadgroup]]
};

// A Launcher calls a kernel with buffer i at buffers[i].
typedef void (*Launcher)(void *const *buffers, void *tgmem, const ThreadPos &pos);

struct KernelEntry {
    const char *name;
    Launcher launch;
    std::initializer_list<int> buffers; // the [[buffer(i)]] indices it takes
    bool tgmem;                         // whether it takes [[threadgroup(0)]]
    unsigned constants;                 // bit i: buffer(i) is in the constant address space
};

} // namespace mslemu

static const mslemu::KernelEntry kernel_table[] = {
#include "kernels.inc"
};

namespace mslemu {

const int kMaxBuffers = 31;
const int kSimdWidth = 32;
#if defined(MSLEMU_ASAN)
const size_t kStack = 512 << 10; // sanitizer frames are large
#else
const size_t kStack = 64 << 10;
#endif

// Thread is one emulated GPU thread: a fiber and what it waits for.
struct Thread : Lane {
    ThreadPos pos;
    ucontext_t ctx;
    char *stack;
    bool done;
    Scope waiting;
    const char *what; // the synchronisation point it waits at
    std::source_location site;
    Combine combine;
#if defined(MSLEMU_ASAN)
    void *fake_stack;
#endif
};

Lane *current;

// What the run is doing, for fail's messages and the fibers.
static struct {
    const KernelEntry *kernel;
    void *buffers[kMaxBuffers + 1];
    void *tgmem;
    const char *order;
    uint3 group;
    bool in_group;
    Thread *running;
    ucontext_t scheduler;
#if defined(MSLEMU_ASAN)
    void *scheduler_fake_stack;
    const void *main_stack;
    size_t main_stack_size;
#endif
} run;

// prefix writes where the run is into buf: the kernel, the order, the
// threadgroup, the thread and what it waits at.
static int prefix(char *buf, size_t n) {
    int k = snprintf(buf, n, "mslemu: %s", run.kernel ? run.kernel->name : "(no kernel)");
    if (run.in_group) {
        k += snprintf(buf + k, n - k, " (%s order), threadgroup (%u, %u, %u)", run.order, run.group.x, run.group.y,
                      run.group.z);
    }
    if (const Thread *t = run.running) {
        k += snprintf(buf + k, n - k, ", thread %d (simdgroup %d, lane %d)", t->pos.tiitg, t->pos.sgitg, t->pos.tiisg);
        if (t->waiting != Scope::none) {
            k += snprintf(buf + k, n - k, " in %s at %s:%u", t->what, t->site.file_name(), unsigned(t->site.line()));
        }
    }
    return k;
}

void fail(const char *format, ...) {
    char buf[4096];
    int k = prefix(buf, sizeof buf);
    k += snprintf(buf + k, sizeof buf - k, ": ");
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf + k, sizeof buf - k, format, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", buf);
    exit(2);
}

[[noreturn]] static void bad_input(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    fprintf(stderr, "mslemu: bad input: ");
    vfprintf(stderr, format, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

// ---- fibers ----

static void switch_to_scheduler(Thread *t, bool dying) {
#if defined(MSLEMU_ASAN)
    __sanitizer_start_switch_fiber(dying ? nullptr : &t->fake_stack, run.main_stack, run.main_stack_size);
#else
    (void)dying;
#endif
    swapcontext(&t->ctx, &run.scheduler);
#if defined(MSLEMU_ASAN)
    __sanitizer_finish_switch_fiber(t->fake_stack, &run.main_stack, &run.main_stack_size);
#endif
}

static void thread_main() {
    Thread *t = run.running;
#if defined(MSLEMU_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, &run.main_stack, &run.main_stack_size);
#endif
    run.kernel->launch(run.buffers, run.tgmem, t->pos);
    t->done = true;
    switch_to_scheduler(t, true);
}

static void resume(Thread *t) {
    run.running = t;
    current = t;
    loads::thread_index = t->pos.tiitg;
#if defined(MSLEMU_ASAN)
    __sanitizer_start_switch_fiber(&run.scheduler_fake_stack, t->stack, kStack);
#endif
    swapcontext(&run.scheduler, &t->ctx);
#if defined(MSLEMU_ASAN)
    __sanitizer_finish_switch_fiber(run.scheduler_fake_stack, nullptr, nullptr);
#endif
    run.running = nullptr;
    loads::thread_index = -1;
}

void wait(Scope scope, const char *what, const std::source_location &loc, Combine combine) {
    Thread *t = run.running;
    t->waiting = scope;
    t->what = what;
    t->site = loc;
    t->combine = combine;
    switch_to_scheduler(t, false);
}

// ---- the scheduler of one threadgroup ----

static bool same_site(const Thread *a, const Thread *b) {
    return a->what == b->what && a->site.line() == b->site.line() && a->site.column() == b->site.column() &&
           strcmp(a->site.file_name(), b->site.file_name()) == 0;
}

static std::string site(const Thread *t) {
    return std::string(t->what) + " at " + t->site.file_name() + ":" + std::to_string(t->site.line());
}

// release_simdgroup completes the simdgroup function or barrier of the
// simdgroup of threads s0.. if all its active lanes wait in it.
static bool release_simdgroup(std::vector<Thread> &ts, size_t s0) {
    Thread *active[kSimdWidth];
    int n = 0;
    for (size_t i = s0; i < std::min(ts.size(), s0 + kSimdWidth); i++) {
        if (!ts[i].done) {
            if (ts[i].waiting != Scope::simdgroup) {
                return false;
            }
            active[n++] = &ts[i];
        }
    }
    if (n == 0) {
        return false;
    }
    for (int i = 1; i < n; i++) {
        if (!same_site(active[0], active[i])) {
            run.running = active[0];
            fail("lane %d waits in %s: the simdgroup diverged (simdgroup functions and barriers must be "
                 "reached by every active lane)", active[i]->pos.tiisg, site(active[i]).c_str());
        }
    }
    if (active[0]->combine) {
        run.running = active[0];
        active[0]->combine(reinterpret_cast<Lane *const *>(active), n);
        run.running = nullptr;
    }
    for (int i = 0; i < n; i++) {
        active[i]->waiting = Scope::none;
    }
    return true;
}

// release_threadgroup completes a threadgroup barrier every thread waits at.
static bool release_threadgroup(std::vector<Thread> &ts, int done) {
    Thread *first = nullptr;
    for (Thread &t : ts) {
        if (t.done) {
            continue;
        }
        if (t.waiting != Scope::threadgroup) {
            return false;
        }
        if (first == nullptr) {
            first = &t;
        } else if (!same_site(first, &t)) {
            run.running = first;
            fail("thread %d waits in %s: threads of the threadgroup wait at different barriers", t.pos.tiitg,
                 site(&t).c_str());
        }
    }
    if (done > 0) {
        run.running = first;
        fail("%d of the %zu threads returned before this barrier; Metal requires every thread of the threadgroup "
             "to reach it", done, ts.size());
    }
    for (Thread &t : ts) {
        t.waiting = Scope::none;
    }
    return true;
}

// deadlock reports threads that wait at points they can never all reach.
[[noreturn]] static void deadlock(std::vector<Thread> &ts) {
    std::string msg = "threads wait at synchronisation points that never complete:";
    std::vector<bool> told(ts.size());
    for (size_t i = 0; i < ts.size(); i++) {
        if (ts[i].done || told[i]) {
            continue;
        }
        int count = 0;
        for (size_t j = i; j < ts.size(); j++) {
            if (!ts[j].done && !told[j] && same_site(&ts[i], &ts[j])) {
                told[j] = true;
                count++;
            }
        }
        msg += " " + std::to_string(count) + " from thread " + std::to_string(i) + " in " + site(&ts[i]) + ";";
    }
    fail("%s", msg.c_str());
}

// run_lanes resumes, in order, every thread of first..last (inclusive,
// either way round) that does not wait; it returns how many finished.
static int run_lanes(std::vector<Thread> &ts, int first, int last) {
    int done = 0;
    const int step = first <= last ? 1 : -1;
    for (int i = first;; i += step) {
        Thread &t = ts[i];
        if (!t.done && t.waiting == Scope::none) {
            resume(&t);
            done += t.done;
        }
        if (i == last) {
            return done;
        }
    }
}

// run_threadgroup runs the threads of one threadgroup to the end. Between
// threadgroup barriers, ascending runs simdgroup 0 as far as it goes, then
// simdgroup 1, and so on, each a lane at a time in ascending order;
// descending takes every lane, last first, to its next synchronisation
// point before any goes further, so all simdgroups advance in step. Both
// are schedules a GPU may follow.
static void run_threadgroup(std::vector<Thread> &ts, bool descending) {
    const int n = int(ts.size());
    for (Thread &t : ts) {
#if defined(MSLEMU_ASAN)
        ASAN_UNPOISON_MEMORY_REGION(t.stack, kStack);
#endif
        t.done = false;
        t.waiting = Scope::none;
        getcontext(&t.ctx);
        t.ctx.uc_stack.ss_sp = t.stack;
        t.ctx.uc_stack.ss_size = kStack;
        t.ctx.uc_link = nullptr;
        makecontext(&t.ctx, thread_main, 0);
    }
    int done = 0;
    for (;;) {
        bool released = false;
        if (descending) {
            done += run_lanes(ts, n - 1, 0);
            for (int s0 = 0; s0 < n; s0 += kSimdWidth) {
                released |= release_simdgroup(ts, s0);
            }
        } else {
            for (int s0 = 0; s0 < n; s0 += kSimdWidth) {
                do {
                    done += run_lanes(ts, s0, std::min(n, s0 + kSimdWidth) - 1);
                } while (release_simdgroup(ts, s0));
            }
        }
        if (done == n) {
            return;
        }
        if (!released && !release_threadgroup(ts, done)) {
            deadlock(ts);
        }
    }
}

// ---- memory ----

static const size_t kPage = size_t(sysconf(_SC_PAGESIZE));
const unsigned char kCanary = 0xa5;

// Region is a mapping whose data ends against an inaccessible page:
// [guard page][slack, data][guard page]; the slack is canary bytes.
struct Region {
    std::string name; // "buffer(2)", "threadgroup memory"
    char *map;        // the mapping
    size_t map_len;
    char *data;
    size_t len;
    bool writable;
};

static std::vector<Region> regions;
static char *stacks;
static size_t stacks_len;

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

static Region map_region(const std::string &name, size_t len, bool writable) {
    const size_t span = round_up(std::max<size_t>(round_up(len, 16), 16), kPage);
    Region r{name, nullptr, span + 2 * kPage, nullptr, len, writable};
    void *m = mmap(nullptr, r.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        bad_input("cannot map %zu bytes for %s", r.map_len, name.c_str());
    }
    r.map = static_cast<char *>(m);
    r.data = r.map + kPage + span - round_up(len, 16);
    memset(r.map + kPage, kCanary, span);
    mprotect(r.map, kPage, PROT_NONE);
    mprotect(r.map + kPage + span, kPage, PROT_NONE);
#if defined(MSLEMU_ASAN)
    // AddressSanitizer also stops reads of the slack, where it is.
    ASAN_POISON_MEMORY_REGION(r.map + kPage, r.data - (r.map + kPage));
    ASAN_POISON_MEMORY_REGION(r.data + len, r.map + kPage + span - (r.data + len));
#endif
    return r;
}

static void unmap_regions() {
    for (Region &r : regions) {
#if defined(MSLEMU_ASAN)
        ASAN_UNPOISON_MEMORY_REGION(r.map, r.map_len);
#endif
        munmap(r.map, r.map_len);
    }
    regions.clear();
}

// check_canaries fails if the bytes around a region's data were written.
// With AddressSanitizer they are poisoned instead, which stops the write.
static void check_canaries(const Region &r) {
#if !defined(MSLEMU_ASAN)
    const char *lo = r.map + kPage, *hi = r.map + r.map_len - kPage;
    for (const char *p = lo; p < hi; p++) {
        if (p == r.data) {
            p += r.len - 1;
        } else if ((unsigned char)*p != kCanary) {
            if (p < r.data) {
                fail("wrote %zu bytes before the start of %s (%zu bytes)", size_t(r.data - p), r.name.c_str(), r.len);
            }
            fail("wrote byte %zu past the end of %s (%zu bytes)", size_t(p - r.data) - r.len, r.name.c_str(), r.len);
        }
    }
#else
    (void)r;
#endif
}

// on_fault names what a bad address belongs to and stops the run.
static void on_fault(int, siginfo_t *info, void *) {
    const char *a = static_cast<const char *>(info->si_addr);
    char buf[4096];
    int k = prefix(buf, sizeof buf);
    const char *what = "an address outside every buffer";
    char detail[512] = "";
    for (const Region &r : regions) {
        if (a >= r.map && a < r.map + r.map_len) {
            if (a < r.data) {
                snprintf(detail, sizeof detail, "%zu bytes before the start of %s (%zu bytes)", size_t(r.data - a),
                         r.name.c_str(), r.len);
            } else if (a >= r.data + r.len) {
                snprintf(detail, sizeof detail, "byte %zu past the end of %s (%zu bytes)", size_t(a - r.data) - r.len,
                         r.name.c_str(), r.len);
            } else {
                snprintf(detail, sizeof detail, "a write to read-only %s", r.name.c_str());
            }
            what = detail;
        }
    }
    if (a >= stacks && a < stacks + stacks_len) {
        what = "the guard page of a thread's stack: stack overflow";
    }
    snprintf(buf + k, sizeof buf - k, ": invalid access at %p: %s\n", info->si_addr, what);
    if (write(2, buf, strlen(buf)) < 0) {
        _exit(2);
    }
    _exit(2);
}

static void install_fault_handler() {
    static std::vector<char> alt(1 << 16);
    stack_t ss{};
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
}

// ---- the dispatch ----

struct Input {
    int index;
    bool writable;
    std::vector<char> bytes;
};

struct Dispatch {
    const KernelEntry *kernel;
    uint groups[3], threads[3], tgmem;
    std::vector<Input> buffers;
};

static Dispatch read_dispatch(const std::vector<char> &in) {
    size_t pos = 0;
    auto take = [&](size_t n) {
        if (in.size() - pos < n) {
            bad_input("truncated at byte %zu", pos);
        }
        const char *p = in.data() + pos;
        pos += n;
        return p;
    };
    auto u32 = [&] { uint v; memcpy(&v, take(4), 4); return v; };
    if (memcmp(take(8), "mslemu1\n", 8) != 0) {
        bad_input("no mslemu1 header");
    }
    Dispatch d{};
    const uint name_len = u32();
    const std::string name(take(name_len), name_len);
    for (const KernelEntry &k : kernel_table) {
        if (name == k.name) {
            d.kernel = &k;
        }
    }
    if (d.kernel == nullptr) {
        bad_input("no kernel named %s", name.c_str());
    }
    for (uint &v : d.groups) v = u32();
    for (uint &v : d.threads) v = u32();
    d.tgmem = u32();
    const uint count = u32();
    for (uint i = 0; i < count; i++) {
        Input b;
        b.index = int(u32());
        b.writable = u32() != 0;
        uint64_t len;
        memcpy(&len, take(8), 8);
        const char *p = take(len);
        b.bytes.assign(p, p + len);
        if (b.index < 0 || b.index > kMaxBuffers || b.bytes.empty()) {
            bad_input("buffer %u: index %d, %zu bytes", i, b.index, b.bytes.size());
        }
        d.buffers.push_back(std::move(b));
    }
    if (pos != in.size()) {
        bad_input("%zu bytes after the last buffer", in.size() - pos);
    }
    const uint t = d.threads[0] * d.threads[1] * d.threads[2];
    if (t == 0 || t > 1024 || d.groups[0] * d.groups[1] * d.groups[2] == 0) {
        bad_input("%u×%u×%u threadgroups of %u threads", d.groups[0], d.groups[1], d.groups[2], t);
    }
    return d;
}

// check_bindings compares the buffers and threadgroup memory a dispatch
// gives with what the kernel takes.
static void check_bindings(const Dispatch &d) {
    bool given[kMaxBuffers + 1] = {};
    for (const Input &b : d.buffers) {
        if (given[b.index]) {
            bad_input("buffer(%d) given twice", b.index);
        }
        given[b.index] = true;
    }
    for (int i : d.kernel->buffers) {
        if (!given[i]) {
            bad_input("%s takes buffer(%d), which the dispatch does not bind", d.kernel->name, i);
        }
        given[i] = false;
    }
    for (int i = 0; i <= kMaxBuffers; i++) {
        if (given[i]) {
            bad_input("the dispatch binds buffer(%d), which %s does not take", i, d.kernel->name);
        }
    }
    if (d.kernel->tgmem != (d.tgmem > 0)) {
        bad_input("%s %s threadgroup memory; the dispatch gives %u bytes", d.kernel->name,
                  d.kernel->tgmem ? "takes" : "takes no", d.tgmem);
    }
}

// execute runs the dispatch in one order and returns the writable buffers.
static std::vector<std::vector<char>> execute(const Dispatch &d, bool descending) {
    run.order = descending ? "descending" : "ascending";
    for (const Input &b : d.buffers) {
        Region r = map_region("buffer(" + std::to_string(b.index) + ")", b.bytes.size(), b.writable);
        memcpy(r.data, b.bytes.data(), b.bytes.size());
        if (!b.writable) {
            mprotect(r.map + kPage, r.map_len - 2 * kPage, PROT_READ);
        }
        run.buffers[b.index] = r.data;
        regions.push_back(r);
        if (loads::enabled && !descending && !(d.kernel->constants >> b.index & 1)) {
            loads::track(r.data, r.len);
        }
    }
    Region *tg = nullptr;
    if (d.tgmem > 0) {
        regions.push_back(map_region("threadgroup memory", d.tgmem, true));
        tg = &regions.back();
    }
    run.tgmem = tg ? tg->data : nullptr;

    const uint nt = d.threads[0] * d.threads[1] * d.threads[2];
    std::vector<Thread> ts(nt);
    for (uint i = 0; i < nt; i++) {
        ts[i].stack = stacks + i * (kStack + kPage) + kPage;
        ts[i].lane = int(i % kSimdWidth);
        ts[i].pos.tiitg = ushort(i);
        ts[i].pos.sgitg = ushort(i / kSimdWidth);
        ts[i].pos.tiisg = ushort(i % kSimdWidth);
        ts[i].pos.ntg = ushort3(ushort(d.threads[0]), ushort(d.threads[1]), ushort(d.threads[2]));
    }
    const uint total = d.groups[0] * d.groups[1] * d.groups[2];
    for (uint k = 0; k < total; k++) {
        const uint g = descending ? total - 1 - k : k;
        run.group = uint3(g % d.groups[0], g / d.groups[0] % d.groups[1], g / (d.groups[0] * d.groups[1]));
        run.in_group = true;
        for (Thread &t : ts) {
            t.pos.tgpig = run.group;
        }
        if (tg) {
            memset(tg->data, 0xff, tg->len);
        }
        loads::on = loads::enabled && !descending;
        if (loads::on) {
            loads::begin_threadgroup(ts.size());
        }
        run_threadgroup(ts, descending);
        if (loads::on) {
            loads::end_threadgroup(kSimdWidth);
            loads::on = false;
        }
        if (tg) {
            check_canaries(*tg);
        }
    }
    run.in_group = false;

    std::vector<std::vector<char>> out;
    for (size_t i = 0; i < d.buffers.size(); i++) {
        const Region &r = regions[i];
        if (d.buffers[i].writable) {
            check_canaries(r);
            out.emplace_back(r.data, r.data + r.len);
        }
    }
    unmap_regions();
    return out;
}

static int main(int argc, char **) {
    if (argc != 1) {
        bad_input("takes no arguments: the dispatch comes on stdin");
    }
    std::vector<char> in;
    char chunk[1 << 16];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, stdin)) > 0;) {
        in.insert(in.end(), chunk, chunk + n);
    }
    const Dispatch d = read_dispatch(in);
    run.kernel = d.kernel;
    check_bindings(d);

    const uint nt = d.threads[0] * d.threads[1] * d.threads[2];
    stacks_len = nt * (kStack + kPage);
    stacks = static_cast<char *>(mmap(nullptr, stacks_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (stacks == MAP_FAILED) {
        bad_input("cannot map the stacks of %u threads", nt);
    }
    for (uint i = 0; i < nt; i++) {
        mprotect(stacks + i * (kStack + kPage), kPage, PROT_NONE);
    }
    install_fault_handler();

    const auto up = execute(d, false);
    const auto down = execute(d, true);
    size_t w = 0;
    for (const Input &b : d.buffers) {
        if (!b.writable) {
            continue;
        }
        for (size_t i = 0; i < b.bytes.size(); i++) {
            if (up[w][i] != down[w][i]) {
                fail("buffer(%d) byte %zu is %02x in ascending order and %02x in descending order: the result "
                     "depends on the order threads run in (a race: a missing barrier, or threads writing the "
                     "same place)", b.index, i, (unsigned char)up[w][i], (unsigned char)down[w][i]);
            }
        }
        fwrite(up[w].data(), 1, up[w].size(), stdout);
        w++;
    }
    if (loads::enabled) {
        loads::report(stdout);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

} // namespace mslemu

int main(int argc, char **argv) { return mslemu::main(argc, argv); }
