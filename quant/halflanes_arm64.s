//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// NEON kernels of the F16 and BF16 dots in ggml's x86 orders (see
// halflanes.go), bit for bit the Go emulation's results: each 8-lane AVX2
// accumulator is a pair of 4-lane registers, V0-V7 (accumulator j keeps
// lanes 0-3 in V(2j), lanes 4-7 in V(2j+1)). F16 widens with FCVTL (exact,
// subnormals included); BF16 by interleaving zero low halves (ZIP with
// V31 = 0), the 16-bit shift of ggml's conversion. V16-V19 hold the
// weights, V20-V27 the activations, V28-V29 the widened weights.

#define FADDPV(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = pair sums of Vn.4S, then Vm.4S
#define FMLA_S4(d, n, m) WORD $(0x4e20cc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S += Vn · Vm, one rounding

// F16_WIDEN and BF16_WIDEN set V28, V29 to the float32s of halves 0-3 and
// 4-7 of register h (V16-V19 as 16-19 and V16.H8-V19.H8).
#define F16_WIDEN(h, vh) FCVTL(28, h); FCVTL2(29, h)
#define BF16_WIDEN(h, vh) VZIP1 vh, V31.H8, V28.H8; VZIP2 vh, V31.H8, V29.H8

// FUSED adds the products of V28-V29 with xlo-xhi to lo-hi with one
// rounding (VFMADD231PS); UNFUSED rounds the products first (VMULPS then
// VADDPS), which ggml_vec_dot_bf16 does.
#define FUSED(x0, x1, lo, hi) FMLA_S4(lo, 28, x0); FMLA_S4(hi, 29, x1)
#define UNFUSED(x0, x1, lo, hi) FMUL(28, 28, x0); FMUL(29, 29, x1); FADD(lo, lo, 28); FADD(hi, hi, 29)

// STEP32 takes 32 weights at R0 and 32 activations at R1 into the four
// accumulators, as one iteration of ggml_vec_dot_f16/_bf16's main loop.
#define STEP32(WIDEN, MAC) \
	VLD1.P 64(R0), [V16.H8, V17.H8, V18.H8, V19.H8]; \
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]; \
	VLD1.P 64(R1), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	WIDEN(16, V16.H8); MAC(20, 21, 0, 1); \
	WIDEN(17, V17.H8); MAC(22, 23, 2, 3); \
	WIDEN(18, V18.H8); MAC(24, 25, 4, 5); \
	WIDEN(19, V19.H8); MAC(26, 27, 6, 7)

// LANES leaves in V0-V1 the lanes (a0+a2) + (a1+a3) of the accumulators.
#define LANES FADD(0, 0, 4); FADD(1, 1, 5); FADD(2, 2, 6); FADD(3, 3, 7); FADD(0, 0, 2); FADD(1, 1, 3)

// REDUCE8 is GGML_F32x8_REDUCE's end: the halves, then two horizontal
// adds, (t0+t1) + (t2+t3).
#define REDUCE8 FADD(0, 0, 1); FADDPV(0, 0, 0); FADDP(0, 0)

// HSUM8 is hsum_float_8's order on the lanes of V0-V1, (t0+t2) + (t1+t3)
// of the halves' sums t.
#define HSUM8 FADD(0, 0, 1); EXT8(1, 0, 0); FADD(0, 0, 1); FADDP(0, 0)

// VEC defines func name(w *byte, x *float32, steps int) float32 over
// steps of 32 elements, ending with END.
#define VEC(name, WIDEN, MAC, END) \
TEXT name(SB), NOSPLIT, $0-28; \
	MOVD w+0(FP), R0; MOVD x+8(FP), R1; MOVD steps+16(FP), R2; \
	ZERO8; VEOR V31.B16, V31.B16, V31.B16; \
loop: \
	STEP32(WIDEN, MAC); SUB $1, R2; CBNZ R2, loop; \
	LANES; END; FMOVS F0, ret+24(FP); RET

// TINY defines func name(w *byte, x *float32, steps int) float32 over
// steps of 8 elements: tinyBLAS's one FMA accumulator, then hsum.
#define TINY(name, WIDEN) \
TEXT name(SB), NOSPLIT, $0-28; \
	MOVD w+0(FP), R0; MOVD x+8(FP), R1; MOVD steps+16(FP), R2; \
	ZERO8; VEOR V31.B16, V31.B16, V31.B16; \
loop: \
	VLD1.P 16(R0), [V16.H8]; VLD1.P 32(R1), [V20.S4, V21.S4]; \
	WIDEN(16, V16.H8); FUSED(20, 21, 0, 1); \
	SUB $1, R2; CBNZ R2, loop; \
	HSUM8; FMOVS F0, ret+24(FP); RET

// ggml_vec_dot_f16 reduces as GGML_F32x8_REDUCE, ggml_vec_dot_bf16 as
// hsum_float_8.
VEC(·f16VecNEON, F16_WIDEN, FUSED, REDUCE8)
VEC(·bf16VecNEON, BF16_WIDEN, UNFUSED, HSUM8)
TINY(·f16TinyNEON, F16_WIDEN)
TINY(·bf16TinyNEON, BF16_WIDEN)
