// The matmul variant (prefill) of Q4_0 and Q8_0 weights on the tensor
// cores, in large tiles staged in shared memory: a block of MMQ_THREADS
// computes MMQT_ROWS weight rows × MMQT_TOKENS tokens (gate_up: half the
// rows of each of its two matrices). The activations arrive quantised:
// quantize_q8 (below), which the runtime launches before each of these
// kernels, writes them once as int8 with a scale per 32, instead of
// every block quantising its tokens again for its own rows. Each stage of
// MMQT_KT columns, every thread fetches one pair of weight blocks (two
// adjacent blocks start on a 4-byte boundary, so whole-word loads, rows
// side by side, read the row contiguously) and the 32 int8 activations of
// one (token, block), then writes them to shared memory (the weights'
// nibbles unpacked to int8 once). It fetches the next stage right after
// the barrier, so the loads are in flight while the tensor cores run on
// this one. Warps are laid out 4 (rows) × 2 (tokens): a warp computes 32
// rows × 32 tokens, 8 mma.m16n8k32 per 32 columns, so each A fragment
// serves four products and each B fragment two; the row stride of both
// tiles is ≡ 4 ints mod 32, so the fragments' 32-bit reads hit 32 banks.
//
// Measured on the H200 (pp512 of the 7B-shaped Q4_0 file, F16 cache):
// 8,680 t/s against 4,850 in the same session when each block fetched,
// quantised and stored a stage between two barriers with nothing to
// overlap the fetch (the prefetch then held 32 float activations and
// spilled). The Q4_0 mat-muls take 50 of the 58.8 ms step; a
// matmul_q4_0_gate_up issues 0.44 instructions a cycle per scheduler
// (4 warps each, the 128-register cap), L1 79% busy.

#define MMQT_KT 128                     // columns per stage (4 blocks)
#define MMQT_BLOCKS (MMQT_KT / 32)      // blocks per row and stage
#define MMQT_STRIDE (MMQT_KT / 4 + 4)   // ints per staged row or token

struct MmqtStage {
    int w[MMQT_ROWS * MMQT_STRIDE]; // weights as int8, four to an int
    int x[MMQT_TOKENS * MMQT_STRIDE];
    float dw[MMQT_ROWS][MMQT_BLOCKS];
    float dx[MMQT_TOKENS][MMQT_BLOCKS];
};

// nibbles_s8 turns four nibbles (one per byte) into the signed bytes q − 8.
__device__ __forceinline__ int nibbles_s8(int q) { return int((u32(q) + 0x78787878u) ^ 0x80808080u); }

// funnel is the 4 bytes that start 2 bytes into the 8 of lo, hi.
__device__ __forceinline__ int funnel(u32 lo, u32 hi) { return int((lo >> 16) | (hi << 16)); }

// A pair of weight blocks as WORDS 32-bit words (BYTES each): unpack gives
// each block's 32 int8 (ints 0..3 columns 0..15, ints 4..7 columns 16..31)
// and its scale.
struct MmqtQ4_0 {
    enum { BYTES = 18, WORDS = 9 };
    static __device__ __forceinline__ void unpack(const u32 (&w)[WORDS], int (&q)[2][8], float (&d)[2]) {
        int qs[2][4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            qs[0][i] = funnel(w[i], w[i + 1]); // block 0's nibbles: bytes 2..17
            qs[1][i] = int(w[5 + i]);          // block 1's: bytes 20..35
        }
        d[0] = h2f(u16(w[0]));
        d[1] = h2f(u16(w[4] >> 16));
#pragma unroll
        for (int b = 0; b < 2; b++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                q[b][i] = nibbles_s8(qs[b][i] & 0x0f0f0f0f);
                q[b][4 + i] = nibbles_s8((qs[b][i] >> 4) & 0x0f0f0f0f);
            }
        }
    }
};

struct MmqtQ8_0 {
    enum { BYTES = 34, WORDS = 17 };
    static __device__ __forceinline__ void unpack(const u32 (&w)[WORDS], int (&q)[2][8], float (&d)[2]) {
#pragma unroll
        for (int i = 0; i < 8; i++) {
            q[0][i] = funnel(w[i], w[i + 1]); // bytes 2..33
            q[1][i] = int(w[9 + i]);          // bytes 36..67
        }
        d[0] = h2f(u16(w[0]));
        d[1] = h2f(u16(w[8] >> 16));
    }
};

template <typename D> struct MmqtBlock;
template <> struct MmqtBlock<DecQ4_0> { typedef MmqtQ4_0 type; };
template <> struct MmqtBlock<DecQ8_0> { typedef MmqtQ8_0 type; };

// MmqtFetch holds what a thread stages: words of its pair of weight
// blocks, and the 32 int8 activations (as 8 ints) and scale of one
// (token, block) that quantize_q8 wrote; zeros past the matrix. The loop
// of mmqt_tile fetches the next stage into it while the tensor cores run
// on this one, so it is kept small: 18 registers.
template <typename W> struct MmqtFetch {
    u32 w[W::WORDS];
    int xq[8];
    float xd;

    // fetch reads stage k0. Whole words where the pair is 4-byte aligned
    // (row bytes and base); otherwise u16 halves, only those of blocks
    // that exist (an odd block count leaves the last pair half).
    __device__ __forceinline__ void fetch(const u8 *src, bool aligned, const u8 *xs, const float *ds, int nb, int k0) {
        const int kb = k0 / 32 + 2 * (threadIdx.x % 2);
        const int halves = kb >= nb ? 0 : (kb + 1 < nb ? W::WORDS * 2 : W::BYTES / 2);
        const u8 *p = src + W::BYTES * u64(kb);
        if (aligned && halves == W::WORDS * 2) {
#pragma unroll
            for (int i = 0; i < W::WORDS; i++) {
                w[i] = __ldg((const u32 *)p + i);
            }
        } else {
#pragma unroll
            for (int i = 0; i < W::WORDS; i++) {
                const u32 lo = 2 * i < halves ? __ldg((const u16 *)p + 2 * i) : 0;
                const u32 hi = 2 * i + 1 < halves ? __ldg((const u16 *)p + 2 * i + 1) : 0;
                w[i] = lo | (hi << 16);
            }
        }
        const int xb = k0 / 32 + threadIdx.x % MMQT_BLOCKS;
        if (xs == nullptr || xb >= nb) {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                xq[i] = 0;
            }
            xd = 0.0f;
        } else {
            const I4 *q = (const I4 *)(xs + 32 * u64(xb)); // quantize_q8's rows are 32-byte aligned
            const I4 lo = q[0], hi = q[1];
            xq[0] = lo.x, xq[1] = lo.y, xq[2] = lo.z, xq[3] = lo.w;
            xq[4] = hi.x, xq[5] = hi.y, xq[6] = hi.z, xq[7] = hi.w;
            xd = __ldg(ds + xb);
        }
    }

    // store writes the fetched stage to s, the weight blocks unpacked to
    // int8.
    __device__ __forceinline__ void store(MmqtStage &s) const {
        const int slot = threadIdx.x / 2, b0 = 2 * (threadIdx.x % 2);
        int q[2][8];
        float d[2];
        W::unpack(w, q, d);
#pragma unroll
        for (int b = 0; b < 2; b++) {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                s.w[slot * MMQT_STRIDE + 8 * (b0 + b) + i] = q[b][i];
            }
            s.dw[slot][b0 + b] = d[b];
        }
        const int tok = threadIdx.x / MMQT_BLOCKS, xb = threadIdx.x % MMQT_BLOCKS;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            s.x[tok * MMQT_STRIDE + 8 * xb + i] = xq[i];
        }
        s.dx[tok][xb] = xd;
    }
};

// mmqt_tile leaves in acc[w][m][j][i] the sums of weight matrix w's row
// MmtPlace::row(m, i) with token MmtPlace::tok(j, i). src is the row
// this thread stages: slot threadIdx.x / 2 of the block's MMQT_ROWS, of
// which the first MMQT_ROWS / NW are matrix 0's; xq and xd are the
// activations as quantize_q8 wrote them. Every thread calls it.
template <typename D, int NW>
__device__ __forceinline__ void mmqt_tile(const u8 *src, const u8 *xq, const float *xd, int cols, int t0, int n,
                                          float (&acc)[NW][2 / NW][4][4]) {
    typedef typename MmqtBlock<D>::type W;
    enum { MT = 2 / NW };
    __shared__ MmqtStage s;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
    const int wr = warp % 4, wt = warp / 4;
    const int nb = cols / 32;
    const bool aligned = ((u64(src) | D::row_bytes(cols)) & 3) == 0;
    const int xtok = t0 + int(threadIdx.x) / MMQT_BLOCKS;
    const u8 *xs = xtok < n ? xq + u64(xtok) * cols : nullptr;
    const float *ds = xd + u64(xtok) * nb;
    mmt_zero(acc);
    MmqtFetch<W> f;
    f.fetch(src, aligned, xs, ds, nb, 0);
    for (int k0 = 0; k0 < cols; k0 += MMQT_KT) {
        __syncthreads(); // every warp is done with the previous stage
        f.store(s);
        __syncthreads();
        if (k0 + MMQT_KT < cols) {
            f.fetch(src, aligned, xs, ds, nb, k0 + MMQT_KT); // in flight during this stage's MMAs
        }
#pragma unroll
        for (int b = 0; b < MMQT_BLOCKS; b++) {
            int a[NW][MT][4];
            float dw[NW][MT][2];
#pragma unroll
            for (int w = 0; w < NW; w++) {
#pragma unroll
                for (int m = 0; m < MT; m++) {
                    const int r = w * (MMQT_ROWS / NW) + wr * 16 * MT + 16 * m + g;
                    const int *p = &s.w[r * MMQT_STRIDE + 8 * b + t];
                    a[w][m][0] = p[0];
                    a[w][m][1] = p[8 * MMQT_STRIDE];
                    a[w][m][2] = p[4];
                    a[w][m][3] = p[8 * MMQT_STRIDE + 4];
                    dw[w][m][0] = s.dw[r][b];
                    dw[w][m][1] = s.dw[r + 8][b];
                }
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int tk = MMT_WARP_TOKENS * wt + 8 * j;
                const int *p = &s.x[(tk + g) * MMQT_STRIDE + 8 * b + t];
                const int bf[2] = {p[0], p[4]};
                const float dx0 = s.dx[tk + 2 * t][b], dx1 = s.dx[tk + 2 * t + 1][b];
#pragma unroll
                for (int w = 0; w < NW; w++) {
#pragma unroll
                    for (int m = 0; m < MT; m++) {
                        int c[4] = {MMA_BIAS, MMA_BIAS, MMA_BIAS, MMA_BIAS};
                        mma_s8(c, a[w][m], bf);
                        acc[w][m][j][0] += mma_sum(c[0]) * (dw[w][m][0] * dx0);
                        acc[w][m][j][1] += mma_sum(c[1]) * (dw[w][m][0] * dx1);
                        acc[w][m][j][2] += mma_sum(c[2]) * (dw[w][m][1] * dx0);
                        acc[w][m][j][3] += mma_sum(c[3]) * (dw[w][m][1] * dx1);
                    }
                }
            }
        }
    }
}

// MmqtInt8 is this file's tile for mmforms.cu's forms: activations as
// quantize_q8 left them.
struct MmqtInt8 {
    struct Act {
        const u8 *q;
        const float *d;
    };
    template <typename D, int NW>
    static __device__ __forceinline__ void tile(const u8 *src, const Act &a, int cols, int t0, int n,
                                                float (&acc)[NW][2 / NW][4][4]) {
        mmqt_tile<D, NW>(src, a.q, a.d, cols, t0, n, acc);
    }
};

// quantize_q8 quantises activations for the matmuls above, which the
// runtime launches it before (geometry.go's Expand): each warp one block
// of 32 values (count blocks in all, x's rows being whole blocks), into
// Q8_0 as quant4 quantises them (d = amax/127, q = round-half-even(x/d),
// d rounded to half): xq the int8 values in x's layout, xd the scales.
#if defined(MAT_Q4_0) || defined(MAT_Q8_0)
extern "C" __global__ void __launch_bounds__(ELT_THREADS) quantize_q8(const float *x, u8 *xq, float *xd,
                                                                      const EltParams p) {
    const u64 blk = u64(blockIdx.x) * (ELT_THREADS / 32) + threadIdx.x / 32;
    if (blk >= u64(p.count)) {
        return; // the whole warp
    }
    const int lane = threadIdx.x % 32;
    const float v = x[32 * blk + lane];
    const float d = warp_max(fabsf(v)) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    xq[32 * blk + lane] = u8(rne_byte(__fmul_rn(v, id)));
    if (lane == 0) {
        xd[blk] = h2f(f2h(d));
    }
}
#endif

// MMQT_FORMS declares the four forms' entry points of Q4_0 or Q8_0; two
// blocks an SM (at most 128 registers a thread) keep 16 warps resident.
// Each reads its activations from xq and xd, as quantize_q8 left them,
// not from x: the contract's binding, kept for the order of the pointers.
#define MMQT_FORMS(variant, type, D)                                                                                \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2) variant##_##type(                                  \
        const u8 *weight, const float *x, float *y, const MatParams p, const u8 *xq, const float *xd) {             \
        mmt_plain<D, MmqtInt8>(weight, {xq, xd}, nullptr, y, p);                                                    \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2)                                                    \
        variant##_##type##_acc(const u8 *weight, const float *x, const float *residual, float *y, const MatParams p, \
                               const u8 *xq, const float *xd) {                                                     \
        mmt_plain<D, MmqtInt8>(weight, {xq, xd}, residual, y, p);                                                   \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2)                                                    \
        variant##_##type##_qkv(const u8 *wq, const u8 *wk, const u8 *wv, const float *x, float *q, float *k,        \
                               float *v, const QKVParams p, const u8 *xq, const float *xd) {                        \
        mmt_qkv<D, MmqtInt8>(wq, wk, wv, {xq, xd}, q, k, v, p);                                                     \
    }                                                                                                               \
    extern "C" __global__ void __launch_bounds__(MMQ_THREADS, 2) variant##_##type##_gate_up(                        \
        const u8 *w_gate, const u8 *w_up, const float *x, float *y, const MatParams p, const u8 *xq,                \
        const float *xd) {                                                                                          \
        mmt_gate_up<D, MmqtInt8>(w_gate, w_up, {xq, xd}, y, p);                                                     \
    }
