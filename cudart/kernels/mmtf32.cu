// The matmul variant (prefill) of F32 weights on the tensor cores, kept
// at float accuracy with three TF32 products: each operand v is split
// into big = tf32(v) and small = tf32(v − big), and a·b is summed as
// a_small·b_big + a_big·b_small + a_big·b_big (the a_small·b_small term,
// about 2^-22 of the product, is left out). F32 is the reference format,
// compared with the CPU runtime at 1e-3: one TF32 or half product would
// miss that. Each stage of MMF_KT columns, every thread stages 16 floats
// of its weight row and 8 of one token as they are; warps split their
// fragments as they read them, so each split serves every product its
// fragment enters (mmforms.cu lays out the block and the forms). The row
// stride, MMF_KT + 4 floats, is ≡ 4 mod 32: the fragments' reads hit 32
// banks.

#define MMF_KT 32                  // columns per stage
#define MMF_STRIDE (MMF_KT + 4)    // floats per staged row or token

struct MmfStage {
    float w[MMQT_ROWS * MMF_STRIDE];
    float x[MMQT_TOKENS * MMF_STRIDE];
};

// tf32_split gives v's big and small TF32 parts.
__device__ __forceinline__ void tf32_split(float v, u32 &big, u32 &small) {
    big = tf32_bits(v);
    small = tf32_bits(v - __uint_as_float(big));
}

// MmfTF32 is this file's tile for mmforms.cu's forms: float activations.
struct MmfTF32 {
    typedef const float *Act;
    template <typename D, int NW>
    static __device__ __forceinline__ void tile(const u8 *src, const Act &x, int cols, int t0, int n,
                                                float (&acc)[NW][2 / NW][4][4]) {
        enum { MT = 2 / NW };
        __shared__ MmfStage s;
        const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
        const int wr = warp % 4, wt = warp / 4;
        const int slot = threadIdx.x / 2, half = threadIdx.x % 2;
        const int xtok = t0 + int(threadIdx.x) / 4, quarter = threadIdx.x % 4;
        const float *ws = (const float *)src, *xs = xtok < n ? x + u64(xtok) * cols : nullptr;
        mmt_zero(acc);
        for (int k0 = 0; k0 < cols; k0 += MMF_KT) {
            float wf[16], xf[8];
            const int wc = k0 + 16 * half, xc = k0 + 8 * quarter;
#pragma unroll
            for (int i = 0; i < 16; i++) {
                wf[i] = wc + i < cols ? __ldg(ws + wc + i) : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < 8; i++) {
                xf[i] = xs != nullptr && xc + i < cols ? __ldg(xs + xc + i) : 0.0f;
            }
            __syncthreads(); // every warp is done with the previous stage
#pragma unroll
            for (int i = 0; i < 16; i++) {
                s.w[slot * MMF_STRIDE + 16 * half + i] = wf[i];
            }
#pragma unroll
            for (int i = 0; i < 8; i++) {
                s.x[(threadIdx.x / 4) * MMF_STRIDE + 8 * quarter + i] = xf[i];
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < MMF_KT / 8; kk++) {
                u32 ab[NW][MT][4], as[NW][MT][4];
#pragma unroll
                for (int w = 0; w < NW; w++) {
#pragma unroll
                    for (int m = 0; m < MT; m++) {
                        const int r = w * (MMQT_ROWS / NW) + wr * 16 * MT + 16 * m + g;
                        const float *p = &s.w[r * MMF_STRIDE + 8 * kk + t];
                        tf32_split(p[0], ab[w][m][0], as[w][m][0]);
                        tf32_split(p[8 * MMF_STRIDE], ab[w][m][1], as[w][m][1]);
                        tf32_split(p[4], ab[w][m][2], as[w][m][2]);
                        tf32_split(p[8 * MMF_STRIDE + 4], ab[w][m][3], as[w][m][3]);
                    }
                }
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const float *p = &s.x[(MMT_WARP_TOKENS * wt + 8 * j + g) * MMF_STRIDE + 8 * kk + t];
                    u32 bb[2], bs[2];
                    tf32_split(p[0], bb[0], bs[0]);
                    tf32_split(p[4], bb[1], bs[1]);
#pragma unroll
                    for (int w = 0; w < NW; w++) {
#pragma unroll
                        for (int m = 0; m < MT; m++) {
                            mma_tf32(acc[w][m][j], as[w][m], bb);
                            mma_tf32(acc[w][m][j], ab[w][m], bs);
                            mma_tf32(acc[w][m][j], ab[w][m], bb);
                        }
                    }
                }
            }
        }
    }
};
