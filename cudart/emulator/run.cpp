// run.cpp: runs launches of metalgraph CUDA kernels on the CPU, one after
// the other, with the execution model cuda_emulation.h describes.
//
//   run JOB IMAGE
//
// JOB has a line per launch: "kernel grid_x grid_y grid_z block_x shared_bytes",
// then the kernel's packed arguments in hex (cudart/args.go's layout, with
// every pointer an offset into IMAGE). IMAGE holds every buffer the
// launches bind; it is rewritten with the buffers after the last.
#include "cuda_emulation.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <ucontext.h>
#include <vector>

struct EmuKernel {
    const char *name;
    void (*call)(char *base, const unsigned char *args);
};
extern const EmuKernel emu_kernels[];
extern const int emu_nkernels;

emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

enum Wait { RUN, BLOCK, WARP, EXCH, DONE };

struct Fiber {
    ucontext_t ctx;
    Wait wait;
    float value;
    std::vector<char> stack;
};

std::vector<Fiber> fibers;
int cur;
ucontext_t sched;
std::vector<float> exch; // 32 values per warp
std::vector<char> dynamic;
const EmuKernel *kernel;
char *base;
std::vector<unsigned char> args;

[[noreturn]] void fail(const std::string &msg) {
    std::fprintf(stderr, "emulator: %s\n", msg.c_str());
    std::exit(2);
}

void suspend(Wait w) {
    fibers[cur].wait = w;
    swapcontext(&fibers[cur].ctx, &sched);
}

void entry() {
    kernel->call(base, args.data());
    suspend(DONE); // never resumed
}

// release ends the wait of threads [lo, hi) that wait with w, if every
// live one of them does; for an exchange it first gathers their values.
bool release(int lo, int hi, Wait w) {
    bool any = false;
    for (int i = lo; i < hi; i++) {
        if (fibers[i].wait != DONE) {
            if (fibers[i].wait != w) {
                return false;
            }
            any = true;
        }
    }
    if (!any) {
        return false;
    }
    for (int i = lo; i < hi; i++) {
        if (w == EXCH) {
            exch[i] = fibers[i].wait == DONE ? 0.0f : fibers[i].value;
        }
        if (fibers[i].wait != DONE) {
            fibers[i].wait = RUN;
        }
    }
    return true;
}

void run_block(int n) {
    for (int i = 0; i < n; i++) {
        Fiber &f = fibers[i];
        f.wait = RUN;
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = f.stack.size();
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, entry, 0);
    }
    for (;;) {
        bool progress = false;
        for (int i = 0; i < n; i++) {
            if (fibers[i].wait == RUN) {
                cur = i;
                threadIdx = {unsigned(i), 0, 0};
                swapcontext(&sched, &fibers[i].ctx);
                progress = true;
            }
        }
        bool done = true;
        for (int i = 0; i < n; i++) {
            done = done && fibers[i].wait == DONE;
        }
        if (done) {
            return;
        }
        for (int w = 0; w < n; w += 32) {
            progress = release(w, min(w + 32, n), WARP) || progress;
            progress = release(w, min(w + 32, n), EXCH) || progress;
        }
        progress = release(0, n, BLOCK) || progress;
        if (!progress) {
            fail(std::string(kernel->name) + ": threads wait at different synchronisation points (a deadlock on the GPU)");
        }
    }
}

} // namespace

void emu_wait_block() { suspend(BLOCK); }
void emu_wait_warp() { suspend(WARP); }

const float *emu_exchange(float v) {
    fibers[cur].value = v;
    suspend(EXCH);
    return &exch[cur / 32 * 32];
}

void *emu_dynamic_shared() { return dynamic.data(); }

int main(int argc, char **argv) {
    if (argc != 3) {
        fail("usage: run JOB IMAGE");
    }
    FILE *job = std::fopen(argv[1], "r");
    if (!job) {
        fail(std::string("cannot open ") + argv[1]);
    }
    struct Launch {
        const EmuKernel *kernel;
        int gx, gy, gz, bx, shared;
        std::vector<unsigned char> args;
    };
    std::vector<Launch> launches;
    char name[256], hex[8192];
    Launch l;
    while (std::fscanf(job, "%255s %d %d %d %d %d %8191s", name, &l.gx, &l.gy, &l.gz, &l.bx, &l.shared, hex) == 7) {
        l.kernel = nullptr;
        for (int i = 0; i < emu_nkernels; i++) {
            if (std::string(emu_kernels[i].name) == name) {
                l.kernel = &emu_kernels[i];
            }
        }
        if (!l.kernel) {
            fail(std::string("no kernel ") + name);
        }
        l.args.clear();
        for (size_t i = 0; hex[2 * i] && hex[2 * i + 1]; i++) {
            l.args.push_back((unsigned char)std::stoi(std::string(hex + 2 * i, 2), nullptr, 16));
        }
        launches.push_back(l);
    }
    if (launches.empty() || !std::feof(job)) {
        fail("malformed job");
    }
    std::fclose(job);
    FILE *img = std::fopen(argv[2], "rb");
    if (!img) {
        fail(std::string("cannot open ") + argv[2]);
    }
    std::fseek(img, 0, SEEK_END);
    long size = std::ftell(img);
    std::fseek(img, 0, SEEK_SET);
    base = (char *)std::aligned_alloc(256, (size + 255) / 256 * 256);
    if (std::fread(base, 1, size, img) != size_t(size)) {
        fail("short image");
    }
    std::fclose(img);

    for (const Launch &l : launches) {
        kernel = l.kernel;
        args = l.args;
        fibers.assign(l.bx, Fiber{});
        for (auto &f : fibers) {
            f.stack.resize(128 << 10);
        }
        exch.assign((l.bx + 31) / 32 * 32, 0.0f);
        dynamic.assign(l.shared + 16, 0);
        blockDim = {unsigned(l.bx), 1, 1};
        gridDim = {unsigned(l.gx), unsigned(l.gy), unsigned(l.gz)};
        for (int z = 0; z < l.gz; z++) {
            for (int y = 0; y < l.gy; y++) {
                for (int x = 0; x < l.gx; x++) {
                    blockIdx = {unsigned(x), unsigned(y), unsigned(z)};
                    run_block(l.bx);
                }
            }
        }
    }
    img = std::fopen(argv[2], "wb");
    if (!img || std::fwrite(base, 1, size, img) != size_t(size) || std::fclose(img) != 0) {
        fail(std::string("cannot write ") + argv[2]);
    }
    return 0;
}
