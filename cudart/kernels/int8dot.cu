// Int8Dot: the matvec variant (a block per 16 rows and a token) of Q4_0
// and Q8_0 weights, as the CPU runtime computes it: the activations are
// quantised to Q8_0 blocks (an int8 per column, a half scale per 32) and
// each weight block's integer dot product is scaled once, d_w·d_x·Σ q_w·q_x.
//
// Decode streams every weight byte once, so the loop is built to keep
// many loads in flight: 8 warps of 2 rows each (16 rows a block, so a
// 4096-row matrix has 256 blocks, two an SM), a lane per 32-column
// block (consecutive lanes, consecutive blocks: a warp reads 576
// contiguous bytes of a Q4_0 row), the four rows' blocks loaded before
// any is used, and four int8 dot products (__dp4a) per 4 bytes of weights
// instead of 32 float multiply-adds. The block quantises the activations
// into shared memory once for its 16 rows, a tile of MVQ_TILE_BLOCKS
// blocks at a time. GGUF blocks (18 and 34 bytes) are only 2-byte
// aligned, so the quants are read as u16 pairs.

#define MVQ_STRIDE 9        // ints per block in the tile: 8 and a pad, so lanes' blocks sit in distinct banks

struct Int8Tile {
    int q[MVQ_TILE_BLOCKS * MVQ_STRIDE]; // the block's 32 int8, four to an int
    float d[MVQ_TILE_BLOCKS];            // its scale, rounded to half as Q8_0 stores it
    int sum[MVQ_TILE_BLOCKS];            // Σ q, for Q4_0's offset of 8
};

// quant4 quantises this lane's 4 values v, with the other 7 lanes of its
// 8-lane group (32 columns: one block), to Q8_0 as ggml's AVX2 build does
// (d = amax/127, q = round-half-even(x/d)): it returns the 4 int8 packed,
// the block's scale rounded to half, as Q8_0 stores it, in d and its Σ q
// in sum. Every lane of the warp calls it.
__device__ __forceinline__ int quant4(const float (&v)[4], float &d, int &sum) {
    const int lane = threadIdx.x % 32;
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        amax = fmaxf(amax, fabsf(v[i]));
    }
#pragma unroll
    for (int o = 1; o < 8; o <<= 1) {
        amax = fmaxf(amax, __shfl_sync(0xffffffffu, amax, lane ^ o));
    }
    const float df = amax / 127.0f;
    const float id = df != 0.0f ? 1.0f / df : 0.0f;
    int packed = 0, s = 0;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int q = f2i_rn(v[i] * id);
        packed |= (q & 0xff) << (8 * i);
        s += q;
    }
    float fsum = float(s); // exact: |Σ q| ≤ 32·127
#pragma unroll
    for (int o = 1; o < 8; o <<= 1) {
        fsum += __shfl_sync(0xffffffffu, fsum, lane ^ o);
    }
    d = h2f(f2h(df));
    sum = int(fsum);
    return packed;
}

// quantise_tile fills t with the blocks of x's columns col0 .. col0 +
// 32·MVQ_TILE_BLOCKS (to cols): a warp takes 4 blocks at a time, each lane
// 4 columns.
__device__ __forceinline__ void quantise_tile(const float *x, int col0, int cols, Int8Tile &t) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int end = min(cols, col0 + 32 * MVQ_TILE_BLOCKS);
#pragma unroll 4 // the loads of several iterations in flight together
    for (int c = col0 + 128 * warp; c < end; c += 128 * MVQ_WARPS) {
        const int e = c + 4 * lane;
        float v[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            v[i] = e < end ? x[e + i] : 0.0f; // cols is a multiple of 32
        }
        float d;
        int sum;
        const int packed = quant4(v, d, sum);
        if (e < end) {
            const int b = (e - col0) / 32;
            t.q[b * MVQ_STRIDE + lane % 8] = packed;
            if (lane % 8 == 0) {
                t.d[b] = d;
                t.sum[b] = sum;
            }
        }
    }
}

// ld_int2 reads 4 bytes at a 2-byte aligned address.
__device__ __forceinline__ int ld_int2(const u8 *p) {
    const u16 *u = (const u16 *)p;
    return int(u32(__ldg(u)) | (u32(__ldg(u + 1)) << 16));
}

// A weight block of Q4_0 or Q8_0 read for Int8Dot: load fetches it into
// registers, dot scales its integer dot product with the activations' block.
struct Int8Q4_0 {
    int d16, q[4];
    __device__ __forceinline__ void load(const u8 *row, int b) {
        const u8 *p = row + 18 * u64(b);
        d16 = __ldg((const u16 *)p);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            q[k] = ld_int2(p + 2 + 4 * k);
        }
    }
    __device__ __forceinline__ float dot(const int *x, float dx, int sx) const {
        int s = 0;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            s = __dp4a(q[k] & 0x0f0f0f0f, x[k], s);            // elements 4k..4k+3
            s = __dp4a((q[k] >> 4) & 0x0f0f0f0f, x[k + 4], s); // elements 16+4k..
        }
        return h2f(u16(d16)) * dx * float(s - 8 * sx);
    }
};

struct Int8Q8_0 {
    int d16, q[8];
    __device__ __forceinline__ void load(const u8 *row, int b) {
        const u8 *p = row + 34 * u64(b);
        d16 = __ldg((const u16 *)p);
#pragma unroll
        for (int k = 0; k < 8; k++) {
            q[k] = ld_int2(p + 2 + 4 * k);
        }
    }
    __device__ __forceinline__ float dot(const int *x, float dx, int) const {
        int s = 0;
#pragma unroll
        for (int k = 0; k < 8; k++) {
            s = __dp4a(q[k], x[k], s);
        }
        return h2f(u16(d16)) * dx * float(s);
    }
};

template <typename D> struct Int8Block;
template <> struct Int8Block<DecQ4_0> { typedef Int8Q4_0 type; };
template <> struct Int8Block<DecQ8_0> { typedef Int8Q8_0 type; };

// Int8Dot is the dot strategy of matvec.cu's forms for Q4_0 and Q8_0 (one
// token per block).
template <typename D> struct Int8Dot {
    static const int NT = 1, R = MVQ_ROWS_PER_WARP, ROWS = MVQ_ROWS;
    template <int RR>
    static __device__ __forceinline__ void dot(const u8 *const *rows, const float *x, int cols, int t0, int,
                                               float (&acc)[RR][1]) {
        typedef typename Int8Block<D>::type W;
        __shared__ Int8Tile tile;
        const int lane = threadIdx.x % 32, nb = cols / 32;
        x += u64(t0) * cols;
#pragma unroll
        for (int r = 0; r < RR; r++) {
            acc[r][0] = 0.0f;
        }
        for (int b0 = 0; b0 < nb; b0 += MVQ_TILE_BLOCKS) {
            __syncthreads(); // every warp is done with the previous tile
            quantise_tile(x, 32 * b0, cols, tile);
            __syncthreads();
            const int bn = min(nb - b0, MVQ_TILE_BLOCKS);
#pragma unroll 2
            for (int j = lane; j < bn; j += 32) {
                W w[RR];
#pragma unroll
                for (int r = 0; r < RR; r++) {
                    w[r].load(rows[r], b0 + j);
                }
                int xq[8];
#pragma unroll
                for (int k = 0; k < 8; k++) {
                    xq[k] = tile.q[j * MVQ_STRIDE + k];
                }
                const float dx = tile.d[j];
                const int sx = tile.sum[j];
#pragma unroll
                for (int r = 0; r < RR; r++) {
                    acc[r][0] += w[r].dot(xq, dx, sx);
                }
            }
        }
#pragma unroll
        for (int r = 0; r < RR; r++) {
            acc[r][0] = warp_sum(acc[r][0]);
        }
    }
};
