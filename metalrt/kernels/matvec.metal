// Mat-vec: y[t, r] = Σ_c W[r, c]·x[t, c]. matvec takes one token per
// threadgroup row; mtmatvec (mtmatvec.metal, after this file in the
// library) takes every token of a small step through the same mv_run.
//
// Threadgroup (256 threads) = 8 simdgroups of R weight rows each
// (MvShape: 10 for 4- and 5-bit weights). It walks the rows in tiles of
// C = B::mv_cols columns (whole blocks); per tile
//   - the threadgroup stages the tile's activations, every token's, in
//     contiguous float4s (stage_x), once for all its rows;
//   - each simdgroup copies the raw bytes of its rows' tiles into its own
//     part of threadgroup memory, its lanes loading consecutive 4-byte
//     words (2-byte where the rows' bytes are not 4-aligned) of the rows
//     laid end to end: each load instruction reads 128 adjacent bytes
//     whatever the block layout, so a block's scale comes in the sectors
//     of its quants instead of in a load of its own;
//   - the lanes decode 16-column chunks from there (B::dot16) against
//     registers of activations (B::load_x), then simd_sum reduces them;
//     from MV_DECODE_ONCE tokens on, a lane decodes each chunk once
//     (B::mv_decode) and dots it with every token's activations.
// The trade: 80 rows per threadgroup keep the activation reads under a
// tenth of the weight bytes for 4-bit weights (Q4_0: 4 / (80 · 0.5625)),
// where llama.cpp's 8 rows re-read them from cache ten times over; a
// 4096-row matrix still makes 52 threadgroups of 8 simdgroups (an M-series
// Max has 40 cores), each lane with 20 to 28 independent word loads per
// tile to keep in flight, at the cost of one copy through threadgroup
// memory and of threadgroup memory that allows one or two threadgroups a
// core.

// MvShape is the launch of decoder B for N tokens: tiles of C columns
// (SEG bytes), R rows per simdgroup: B::mv_rows, or as many (even, for the
// gate_up form) as N tokens' activation tiles leave room for. geometry.go
// has the same rule.
template <typename B, short N> struct MvShape {
    enum {
        C = B::mv_cols,
        SEG = B::mv_seg,
        FIT = (MV_MEMORY - N * C * 4) / (MV_SIMDGROUPS * SEG) / 2 * 2,
        R = int(FIT) < int(B::mv_rows) ? int(FIT) : int(B::mv_rows),
    };
};

// Forms: the kernels' buffers, with
//   halves         1, or 2 where a simdgroup's first R/2 rows are one
//                  matrix's and its last R/2 another's for the same outputs
//   row(r0, r, R)  weight row r of a simdgroup whose first output is r0,
//                  clamped into the matrix
//   index(r0, r, R)
//                  that row's index in its matrix
//   live(r0, r, R) whether row r is in the matrix: rows past its end are
//                  neither loaded nor stored
//   put(t, r0, r, R, v)
//                  stores output r for token t from v, that token's R dot
//                  products
struct MvForm {
    device const uchar *w;
    device const float *x;
    device float *y;
    int rows, cols;
    ulong rb;
    enum { halves = 1 };
    int index(int r0, short r, short) const { return min(r0 + r, rows - 1); }
    device const uchar *row(int r0, short r, short R) const { return w + rb * ulong(index(r0, r, R)); }
    bool live(int r0, short r, short) const { return r0 + r < rows; }
    void put(int t, int r0, short r, short, thread const float *v) const {
        if (r0 + r < rows) {
            y[ulong(t) * rows + r0 + r] = v[r];
        }
    }
};

// y = residual + W·x; each output is read and written by one lane, so y
// may be the residual itself.
struct AccForm {
    device const uchar *w;
    device const float *x, *residual;
    device float *y;
    int rows, cols;
    ulong rb;
    enum { halves = 1 };
    int index(int r0, short r, short) const { return min(r0 + r, rows - 1); }
    device const uchar *row(int r0, short r, short R) const { return w + rb * ulong(index(r0, r, R)); }
    bool live(int r0, short r, short) const { return r0 + r < rows; }
    void put(int t, int r0, short r, short, thread const float *v) const {
        if (r0 + r < rows) {
            const ulong o = ulong(t) * rows + r0 + r;
            y[o] = residual[o] + v[r];
        }
    }
};

// Q, K and V projections of one input: global rows run through Wq, Wk, Wv.
struct QKVForm {
    device const uchar *wq, *wk, *wv;
    device const float *x;
    device float *q, *k, *v;
    constant QKVParams *p;
    int cols;
    ulong rb;
    enum { halves = 1 };
    int index(int r0, short r, short) const { return qkv_local(r0 + r, *p).row; }
    device const uchar *row(int r0, short r, short) const { return qkv_row(wq, wk, wv, r0 + r, *p, rb); }
    bool live(int r0, short r, short) const { return r0 + r < p->rows_q + 2 * p->rows_kv; }
    void put(int t, int r0, short r, short, thread const float *s) const { qkv_store(q, k, v, t, r0 + r, *p, s[r]); }
};

// y = silu(Wg·x)·(Wu·x): R/2 gate and R/2 up rows share a staging of x.
struct GateUpForm {
    device const uchar *gate, *up;
    device const float *x;
    device float *y;
    int rows, cols;
    ulong rb;
    enum { halves = 2 };
    int index(int r0, short r, short R) const { return min(r0 + r % (R / 2), rows - 1); }
    device const uchar *row(int r0, short r, short R) const { return (r < R / 2 ? gate : up) + rb * ulong(index(r0, r, R)); }
    bool live(int r0, short r, short R) const { return r0 + r % (R / 2) < rows; }
    void put(int t, int r0, short r, short R, thread const float *v) const {
        if (r0 + r < rows) {
            y[ulong(t) * rows + r0 + r] = silu(v[r]) * v[R / 2 + r];
        }
    }
};

// mv_stage copies bytes b0 .. b0 + len of the simdgroup's live rows into
// dst, row r at r·stride, in words of U. Lane l takes words l, l + 32, ...
// of a sequence of runs: the whole 32-byte sectors of each row's bytes
// (its body), then the parts of sectors at their two ends (head, tail),
// which the neighbouring tiles share. So a load instruction of the
// simdgroup reads whole sectors but for those ends, even where a tile's
// bytes are no whole number of sectors (Q6_K: 420) or a row starts inside
// one (the matrix itself is assumed to start on a sector, as GGUF aligns
// tensors to 32 bytes).
template <typename U, short R, typename Form>
inline void mv_stage(thread const Form &f, int r0, ulong b0, int len, int stride, ushort lane, threadgroup uchar *dst) {
    int run = -1, words = 0; // runs 0..R−1 are the rows' bodies, then each row's head and tail
    device const U *src = (device const U *)f.row(r0, 0, R);
    threadgroup U *to = (threadgroup U *)dst;
    for (int u = lane;; u += 32) {
        while (u >= words) {
            u -= words;
            if (++run == 3 * R) {
                return;
            }
            const short r = run < R ? run : (run - R) / 2;
            int at = 0, n = 0;
            if (f.live(r0, r, R)) {
                const int lead = int((f.rb * ulong(f.index(r0, r, R)) + b0) % 32);
                const int head = min(len, (32 - lead) % 32), body = (len - head) / 32 * 32;
                at = run < R ? head : (run - R) % 2 == 0 ? 0 : head + body;
                n = run < R ? body : (run - R) % 2 == 0 ? head : len - head - body;
            }
            words = n / int(sizeof(U));
            src = (device const U *)(f.row(r0, r, R) + b0 + at);
            to = (threadgroup U *)(dst + r * stride + at);
        }
        to[u] = src[u];
    }
}

// MV_DECODE_ONCE is the fewest tokens for which mv_dot decodes each staged
// weight chunk once (B::mv_decode) and dots it with every token's
// activations, instead of running B::dot16 per token, whose decoding works
// on activations pre-scaled for it (nibble_x). By operation count, Q4_0's
// dot16 is ~36 per chunk and token; decoding once is ~48 per chunk, then
// 16 multiply-adds per token: even at 3 tokens, half the work at 8. Not
// measured on a GPU.
#define MV_DECODE_ONCE 4

// mv_dot leaves in out[t·R + r], on every lane, the dot product of the
// simdgroup's row r with the activations of token t < N (f.x, N rows of
// f.cols); every thread of the threadgroup calls it. A tile of fewer than
// 32 chunks (float weights) splits the lanes into G groups of L, group g
// taking rows g, g + G, ...
template <typename B, short N, typename Form>
inline void mv_dot(thread const Form &f, int r0, ushort tid, ushort sg, ushort lane, threadgroup uchar *shm,
                   thread float *out) {
    typedef MvShape<B, N> S;
    constexpr short C = S::C, R = S::R, L = C / 16 < 32 ? C / 16 : 32, G = 32 / L, K = (R + G - 1) / G;
    const int cols = f.cols;
    threadgroup float *xs = (threadgroup float *)shm;
    threadgroup uchar *ws = shm + N * C * 4 + sg * R * S::SEG;
    const bool words = (f.rb | ulong(S::SEG)) % 4 == 0;
    const short g = lane / L;
    float acc[N * K];
    for (short i = 0; i < N * K; i++) {
        acc[i] = 0.0f;
    }
    for (int c0 = 0; c0 < cols; c0 += C) {
        const int n = min(cols - c0, int(C));
        const ulong b0 = B::row_bytes(c0);
        const int len = int(B::row_bytes(n));
        stage_x(f.x, cols, N, c0, C, tid, MV_SIMDGROUPS * 32, xs);
        if (words && len % 4 == 0) {
            mv_stage<uint, R>(f, r0, b0, len, S::SEG, lane, ws);
        } else {
            mv_stage<ushort, R>(f, r0, b0, len, S::SEG, lane, ws);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int c = lane % L; 16 * c < n; c += L) {
            if (N >= MV_DECODE_ONCE) {
                for (short k = 0; k < K; k++) {
                    if (g + k * G < R) {
                        float w[16];
                        B::mv_decode(ws + (g + k * G) * S::SEG, 16 * c, n, w);
                        for (short t = 0; t < N; t++) {
                            float xv[16];
                            B::mv_x(xs + t * C, 16 * c, xv);
                            float s = 0.0f;
                            for (short i = 0; i < 16; i++) {
                                s += w[i] * xv[i];
                            }
                            acc[t * K + k] += s;
                        }
                    }
                }
                continue;
            }
            for (short t = 0; t < N; t++) {
                float xv[16];
                const float2 xsum = B::load_x(xs + t * C, 16 * c, xv);
                for (short k = 0; k < K; k++) {
                    if (g + k * G < R) {
                        acc[t * K + k] += B::dot16(ws + (g + k * G) * S::SEG, 16 * c, n, xv, xsum);
                    }
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup); // the tile is read: the next may replace it
    }
    for (short t = 0; t < N; t++) {
        for (short r = 0; r < R; r++) {
            out[t * R + r] = simd_sum(g == r % G ? acc[t * K + r / G] : 0.0f);
        }
    }
}

// mv_run computes the N tokens' outputs of the simdgroup and stores them,
// output i by lane i % 32.
template <typename B, short N, typename Form>
inline void mv_run(thread const Form &f, uint3 tgpig, ushort tid, ushort sg, ushort lane, threadgroup uchar *shm) {
    constexpr short R = MvShape<B, N>::R, outputs = R / Form::halves;
    const int r0 = (int(tgpig.x) * MV_SIMDGROUPS + sg) * outputs;
    float out[N * R];
    mv_dot<B, N>(f, r0, tid, sg, lane, shm, out);
    for (short i = 0; i < N * outputs; i++) {
        if (lane == i % 32) {
            f.put(i / outputs, r0, i % outputs, R, out + (i / outputs) * R);
        }
    }
}

template <typename B>
kernel void matvec(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device float *y [[buffer(2)]],
        constant MatParams &p [[buffer(3)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const ulong t = tgpig.y;
    const MvForm f = {weight, x + t * p.cols, y + t * p.rows, p.rows, p.cols, B::row_bytes(p.cols)};
    mv_run<B, 1>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B>
kernel void matvec_acc(
        device const uchar *weight [[buffer(0)]],
        device const float *x [[buffer(1)]],
        device const float *residual [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const ulong t = tgpig.y;
    const AccForm f = {weight, x + t * p.cols, residual + t * p.rows, y + t * p.rows, p.rows, p.cols, B::row_bytes(p.cols)};
    mv_run<B, 1>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B>
kernel void matvec_qkv(
        device const uchar *wq [[buffer(0)]],
        device const uchar *wk [[buffer(1)]],
        device const uchar *wv [[buffer(2)]],
        device const float *x [[buffer(3)]],
        device float *q [[buffer(4)]],
        device float *k [[buffer(5)]],
        device float *v [[buffer(6)]],
        constant QKVParams &p [[buffer(7)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const ulong t = tgpig.y;
    const QKVForm f = {wq, wk, wv, x + t * p.cols, q + t * p.rows_q, k + t * p.rows_kv, v + t * p.rows_kv, &p, p.cols,
                       B::row_bytes(p.cols)};
    mv_run<B, 1>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

template <typename B>
kernel void matvec_gate_up(
        device const uchar *w_gate [[buffer(0)]],
        device const uchar *w_up [[buffer(1)]],
        device const float *x [[buffer(2)]],
        device float *y [[buffer(3)]],
        constant MatParams &p [[buffer(4)]],
        threadgroup uchar *shm [[threadgroup(0)]],
        uint3 tgpig [[threadgroup_position_in_grid]],
        ushort tiitg [[thread_index_in_threadgroup]],
        ushort sgitg [[simdgroup_index_in_threadgroup]],
        ushort tiisg [[thread_index_in_simdgroup]]) {
    const ulong t = tgpig.y;
    const GateUpForm f = {w_gate, w_up, x + t * p.cols, y + t * p.rows, p.rows, p.cols, B::row_bytes(p.cols)};
    mv_run<B, 1>(f, tgpig, tiitg, sgitg, tiisg, shm);
}

typedef decltype(matvec<DecF32>) matvec_t;
typedef decltype(matvec_acc<DecF32>) matvec_acc_t;
typedef decltype(matvec_qkv<DecF32>) matvec_qkv_t;
typedef decltype(matvec_gate_up<DecF32>) matvec_gate_up_t;

template [[host_name("matvec_f32")]] kernel matvec_t matvec<DecF32>;
template [[host_name("matvec_f16")]] kernel matvec_t matvec<DecF16>;
template [[host_name("matvec_bf16")]] kernel matvec_t matvec<DecBF16>;
template [[host_name("matvec_q4_0")]] kernel matvec_t matvec<DecQ4_0>;
template [[host_name("matvec_q8_0")]] kernel matvec_t matvec<DecQ8_0>;
template [[host_name("matvec_q4_k")]] kernel matvec_t matvec<DecQ4_K>;
template [[host_name("matvec_q5_k")]] kernel matvec_t matvec<DecQ5_K>;
template [[host_name("matvec_q6_k")]] kernel matvec_t matvec<DecQ6_K>;

template [[host_name("matvec_f32_acc")]] kernel matvec_acc_t matvec_acc<DecF32>;
template [[host_name("matvec_f16_acc")]] kernel matvec_acc_t matvec_acc<DecF16>;
template [[host_name("matvec_bf16_acc")]] kernel matvec_acc_t matvec_acc<DecBF16>;
template [[host_name("matvec_q4_0_acc")]] kernel matvec_acc_t matvec_acc<DecQ4_0>;
template [[host_name("matvec_q8_0_acc")]] kernel matvec_acc_t matvec_acc<DecQ8_0>;
template [[host_name("matvec_q4_k_acc")]] kernel matvec_acc_t matvec_acc<DecQ4_K>;
template [[host_name("matvec_q5_k_acc")]] kernel matvec_acc_t matvec_acc<DecQ5_K>;
template [[host_name("matvec_q6_k_acc")]] kernel matvec_acc_t matvec_acc<DecQ6_K>;

template [[host_name("matvec_f32_qkv")]] kernel matvec_qkv_t matvec_qkv<DecF32>;
template [[host_name("matvec_f16_qkv")]] kernel matvec_qkv_t matvec_qkv<DecF16>;
template [[host_name("matvec_bf16_qkv")]] kernel matvec_qkv_t matvec_qkv<DecBF16>;
template [[host_name("matvec_q4_0_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ4_0>;
template [[host_name("matvec_q8_0_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ8_0>;
template [[host_name("matvec_q4_k_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ4_K>;
template [[host_name("matvec_q5_k_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ5_K>;
template [[host_name("matvec_q6_k_qkv")]] kernel matvec_qkv_t matvec_qkv<DecQ6_K>;

template [[host_name("matvec_f32_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecF32>;
template [[host_name("matvec_f16_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecF16>;
template [[host_name("matvec_bf16_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecBF16>;
template [[host_name("matvec_q4_0_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ4_0>;
template [[host_name("matvec_q8_0_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ8_0>;
template [[host_name("matvec_q4_k_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ4_K>;
template [[host_name("matvec_q5_k_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ5_K>;
template [[host_name("matvec_q6_k_gate_up")]] kernel matvec_gate_up_t matvec_gate_up<DecQ6_K>;
