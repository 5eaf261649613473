// The matmul variant (prefill) of F16, BF16, Q4_K and Q5_K weights on the
// tensor cores in half precision: each stage of MMH_KT columns, every
// thread decodes one 32-column chunk of its weight row (the decoders of
// common.cuh, in float) and converts 16 activations of one token, both to
// half in shared memory; warps then run mma.m16n8k16 on f16 with float
// sums (mmforms.cu lays out the block and the forms). The activations
// are rounded to half, as llama.cpp's cuBLAS path for these types rounds
// them: a relative error of 2^-11 per value, well inside the bounds the
// quantised types are compared with, and for F16 weights exactly what
// their own precision already costs. F32 weights keep the float mat-vec:
// they are the reference format, compared at 1e-3.
//
// The half row stride, MMH_KT / 2 + 4 words, is ≡ 4 mod 32, so the
// fragments' 32-bit reads hit 32 banks. There is no prefetch: a decoder's
// float arithmetic waits on its loads, so they cannot be left in flight
// across the MMAs without raw per-type staging; two blocks an SM overlap
// one block's stage with the other's MMAs.

#define MMH_KT 64                  // columns per stage (two chunks of 32)
#define MMH_STRIDE (MMH_KT / 2 + 4) // words (two halves each) per staged row or token

struct MmhStage {
    u32 w[MMQT_ROWS * MMH_STRIDE];
    u32 x[MMQT_TOKENS * MMH_STRIDE];
};

// half2_bits packs two floats as halves, the first in the low bits (the
// order mma_f16 reads them in).
__device__ __forceinline__ u32 half2_bits(float lo, float hi) { return u32(f2h(lo)) | (u32(f2h(hi)) << 16); }

// MmhHalf is this file's tile for mmforms.cu's forms: float activations,
// rounded to half as they are staged.
struct MmhHalf {
    typedef const float *Act;
    template <typename D, int NW>
    static __device__ __forceinline__ void tile(const u8 *src, const Act &x, int cols, int t0, int n,
                                                float (&acc)[NW][2 / NW][4][4]) {
        enum { MT = 2 / NW };
        __shared__ MmhStage s;
        const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
        const int wr = warp % 4, wt = warp / 4;
        const int slot = threadIdx.x / 2, half = threadIdx.x % 2; // the weight chunk this thread stages
        const int xtok = t0 + int(threadIdx.x) / 4, quarter = threadIdx.x % 4;
        const float *xs = xtok < n ? x + u64(xtok) * cols : nullptr;
        mmt_zero(acc);
        for (int k0 = 0; k0 < cols; k0 += MMH_KT) {
            const int c = k0 / 32 + half;
            float wf[32];
            if (32 * c < cols) {
                D::load32(src, c, cols, wf);
            } else {
#pragma unroll
                for (int i = 0; i < 32; i++) {
                    wf[i] = 0.0f;
                }
            }
            float xf[16];
            const int xc = k0 + 16 * quarter;
#pragma unroll
            for (int i = 0; i < 16; i++) {
                xf[i] = xs != nullptr && xc + i < cols ? __ldg(xs + xc + i) : 0.0f;
            }
            __syncthreads(); // every warp is done with the previous stage
#pragma unroll
            for (int i = 0; i < 16; i++) {
                s.w[slot * MMH_STRIDE + 16 * half + i] = half2_bits(wf[2 * i], wf[2 * i + 1]);
            }
#pragma unroll
            for (int i = 0; i < 8; i++) {
                s.x[(threadIdx.x / 4) * MMH_STRIDE + 8 * quarter + i] = half2_bits(xf[2 * i], xf[2 * i + 1]);
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < MMH_KT / 16; kk++) {
                u32 a[NW][MT][4];
#pragma unroll
                for (int w = 0; w < NW; w++) {
#pragma unroll
                    for (int m = 0; m < MT; m++) {
                        const int r = w * (MMQT_ROWS / NW) + wr * 16 * MT + 16 * m + g;
                        const u32 *p = &s.w[r * MMH_STRIDE + 8 * kk + t];
                        a[w][m][0] = p[0];
                        a[w][m][1] = p[8 * MMH_STRIDE];
                        a[w][m][2] = p[4];
                        a[w][m][3] = p[8 * MMH_STRIDE + 4];
                    }
                }
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const u32 *p = &s.x[(MMT_WARP_TOKENS * wt + 8 * j + g) * MMH_STRIDE + 8 * kk + t];
                    const u32 b[2] = {p[0], p[4]};
#pragma unroll
                    for (int w = 0; w < NW; w++) {
#pragma unroll
                        for (int m = 0; m < MT; m++) {
                            mma_f16(acc[w][m][j], a[w][m], b);
                        }
                    }
                }
            }
        }
    }
};
