// Writes ggml's reference outputs for deterministic inputs, one record per
// line: "<kind> <row> <hex bytes>". Built against ggml's C sources with no
// SIMD and -ffp-contract=off, so the portable code paths run unfused; or
// with AVX2, FMA and F16C for the outputs of ggml's AVX2 code paths.
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "ggml-common.h"
#include "ggml-quants.h"
#include "ggml-impl.h"
#include "ggml-cpu/ggml-cpu-quants.h"

float ggml_table_f32_f16[1 << 16];
void ggml_abort(const char *file, int line, const char *fmt, ...) { fprintf(stderr, "abort %s:%d\n", file, line); __builtin_trap(); }

#define N 512
#define ROWS 5

static uint32_t st;
static uint32_t next(void) { st ^= st << 13; st ^= st >> 17; st ^= st << 5; return st; }

// Row r of kind k (0 weights, 1 activations): sums of four uniform ints,
// scaled per 32 elements by a power of two from 2^-1..2^1 (row 1: 2^-6..2^4);
// row 2 is all positive; row 3 has a zero 32-block and a zero 256-block;
// row 4 is within 1/8 below a power of two everywhere, so that integer
// sums are large and the order of the scale products matters.
static void gen(int k, int r, float *x) {
    st = 0x9e3779b9u * (uint32_t)(2 * r + k + 1);
    for (int b = 0; b < N / 32; b++) {
        int e = r == 1 ? (int)(next() % 11) - 6 : (int)(next() % 3) - 1;
        for (int i = 0; i < 32; i++) {
            int32_t s = 0;
            for (int j = 0; j < 4; j++) s += ((int32_t)next()) >> 9;
            float v = ldexpf((float)s, e - 24);
            if (r == 2) v = fabsf(v) + ldexpf(1.0f, e - 3);
            if (r == 4) v = ldexpf(1.0f - (float)(next() >> 8) * 0x1p-27f, e);
            if (r == 3 && (b == 5 || b >= 8)) v = 0;
            x[32 * b + i] = v;
        }
    }
}

// Activations near halves: per 32 elements an amax in [1, 2)·2^-10..2^10
// and 31 values (k + 1/2)·amax/127, so that x·id lands within rounding of a
// half and the quantisers' rounding rules show.
static void gen_halves(int r, float *x) {
    st = 0x85ebca6bu * (uint32_t)(r + 1);
    for (int b = 0; b < N / 32; b++) {
        int e = (int)(next() % 21) - 10;
        float amax = ldexpf(1.0f + (float)(next() >> 8) * 0x1p-24f, e);
        x[32 * b] = amax;
        for (int i = 1; i < 32; i++) x[32 * b + i] = ((float)((int)(next() % 254) - 127) + 0.5f) * (amax / 127.0f);
    }
}

static void hex(const char *kind, int r, const void *p, size_t n) {
    const uint8_t *b = p;
    printf("%s %d ", kind, r);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    for (int i = 0; i < 1 << 16; i++) ggml_table_f32_f16[i] = GGML_COMPUTE_FP16_TO_FP32((ggml_fp16_t)i);
    static float w[N], a[N], y[N];
    static block_q4_0 q40[N / 32]; static block_q8_0 q80[N / 32], a80[N / 32];
    static block_q4_K q4k[N / 256]; static block_q5_K q5k[N / 256]; static block_q6_K q6k[N / 256]; static block_q8_K a8k[N / 256];
    for (int r = 0; r < ROWS; r++) {
        gen(0, r, w); gen(1, r, a);
        quantize_row_q4_0_ref(w, q40, N); hex("q4_0", r, q40, sizeof q40);
        quantize_row_q8_0_ref(w, q80, N); hex("q8_0", r, q80, sizeof q80);
        quantize_row_q4_K_ref(w, q4k, N); hex("q4_K", r, q4k, sizeof q4k);
        quantize_row_q5_K_ref(w, q5k, N); hex("q5_K", r, q5k, sizeof q5k);
        quantize_row_q6_K_ref(w, q6k, N); hex("q6_K", r, q6k, sizeof q6k);
        quantize_row_q8_0(a, a80, N); hex("act_q8_0", r, a80, sizeof a80);
        quantize_row_q8_K(a, a8k, N); hex("act_q8_K", r, a8k, sizeof a8k);
        dequantize_row_q4_K(q4k, y, N); hex("deq_q4_K", r, y, sizeof y);
        dequantize_row_q5_K(q5k, y, N); hex("deq_q5_K", r, y, sizeof y);
        float s, sb[N / 32];
        // Each block on its own too, so that the order of the scale
        // multiplications shows in the results.
        for (int i = 0; i < N / 32; i++) ggml_vec_dot_q4_0_q8_0(32, &sb[i], 0, q40 + i, 0, a80 + i, 0, 1);
        hex("blkdot_q4_0", r, sb, sizeof sb);
        for (int i = 0; i < N / 32; i++) ggml_vec_dot_q8_0_q8_0(32, &sb[i], 0, q80 + i, 0, a80 + i, 0, 1);
        hex("blkdot_q8_0", r, sb, sizeof sb);
        for (int i = 0; i < N / 256; i++) ggml_vec_dot_q4_K_q8_K(256, &sb[i], 0, q4k + i, 0, a8k + i, 0, 1);
        hex("blkdot_q4_K", r, sb, N / 256 * sizeof(float));
        for (int i = 0; i < N / 256; i++) ggml_vec_dot_q5_K_q8_K(256, &sb[i], 0, q5k + i, 0, a8k + i, 0, 1);
        hex("blkdot_q5_K", r, sb, N / 256 * sizeof(float));
        for (int i = 0; i < N / 256; i++) ggml_vec_dot_q6_K_q8_K(256, &sb[i], 0, q6k + i, 0, a8k + i, 0, 1);
        hex("blkdot_q6_K", r, sb, N / 256 * sizeof(float));
        ggml_vec_dot_q4_0_q8_0(N, &s, 0, q40, 0, a80, 0, 1); hex("dot_q4_0", r, &s, 4);
        ggml_vec_dot_q8_0_q8_0(N, &s, 0, q80, 0, a80, 0, 1); hex("dot_q8_0", r, &s, 4);
        ggml_vec_dot_q4_K_q8_K(N, &s, 0, q4k, 0, a8k, 0, 1); hex("dot_q4_K", r, &s, 4);
        ggml_vec_dot_q5_K_q8_K(N, &s, 0, q5k, 0, a8k, 0, 1); hex("dot_q5_K", r, &s, 4);
        ggml_vec_dot_q6_K_q8_K(N, &s, 0, q6k, 0, a8k, 0, 1); hex("dot_q6_K", r, &s, 4);
        gen_halves(r, a); quantize_row_q8_0(a, a80, N); hex("act_q8_0_halves", r, a80, sizeof a80); quantize_row_q8_K(a, a8k, N); hex("act_q8_K_halves", r, a8k, sizeof a8k);
    }
    return 0;
}
