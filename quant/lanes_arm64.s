//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// NEON kernels of the lane-order dot products (see lanes.go) and of the
// Q8_0 quantisers, bit for bit the AVX2 kernels' results. Each dot kernel
// comes twice: with SDOT (the dot-product extension, FEAT_DotProd) and
// with plain NEON widening multiplies for CPUs without it.
//
// Registers of the dot kernels: V0-V7 accumulators (row or token r keeps
// lanes 0-3 in V(2r) and lanes 4-7 in V(2r+1)), V16-V19 quants, V20-V21
// lane sums, V22 the broadcast d_w·d_a, F23 the scale shared by the four
// dot products, V25-V26 scratch, V30-V31 constants, R9 scratch.

// SCALE sets V22 to (F16 at p)·F23 in every lane: d_w·d_a, exact in float32.
#define SCALE(p) F16(p, F22); FMULS F23, F22, F22; VDUP V22.S[0], V22.S4

// BLOCK accumulates the lane sums of the quants Vx0·Vy0 (lanes 0-3) and
// Vx1·Vy1 (lanes 4-7) times V22, with single-rounding FMAs as VFMADD231PS.
#define BLOCK(SUMS, x0, y0, x1, y1, lo, hi) \
	SUMS(20, x0, y0); SUMS(21, x1, y1); SCVTF(20, 20); SCVTF(21, 21); \
	VFMLA V22.S4, V20.S4, lo.S4; VFMLA V22.S4, V21.S4, hi.S4

// V30 = 0x0f and V31 = 8 in every byte, for unpacking Q4_0 nibbles.
#define Q4_CONSTS VMOVI $15, V30.B16; VMOVI $8, V31.B16

// Q4_UNPACK turns the 16 Q4_0 quant bytes in lo into signed quants: the
// low nibbles (elements 0-15) in lo, the high ones (16-31) in hi.
#define Q4_UNPACK(lo, hi) \
	VUSHR $4, lo.B16, hi.B16; VAND V30.B16, lo.B16, lo.B16; \
	VSUB V31.B16, lo.B16, lo.B16; VSUB V31.B16, hi.B16, hi.B16

// ACT loads the Q8_0 activation block at p: scale in F23, quants in V16-V17.
#define ACT(p) F16(p, F23); VLD1.P 32(p), [V16.B16, V17.B16]

// Q4_ROW accumulates the Q4_0 block at p times the block of ACT.
#define Q4_ROW(SUMS, p, lo, hi) \
	SCALE(p); VLD1.P 16(p), [V18.B16]; Q4_UNPACK(V18, V19); BLOCK(SUMS, 18, 16, 19, 17, lo, hi)

// Q8_ROW accumulates the Q8_0 block at p times the block of ACT.
#define Q8_ROW(SUMS, p, lo, hi) \
	SCALE(p); VLD1.P 32(p), [V18.B16, V19.B16]; BLOCK(SUMS, 18, 16, 19, 17, lo, hi)

// Q4_TOKEN accumulates the activation block at p times the Q4_0 block
// unpacked into V16-V17 (scale in F23).
#define Q4_TOKEN(SUMS, p, lo, hi) \
	SCALE(p); VLD1.P 32(p), [V18.B16, V19.B16]; BLOCK(SUMS, 16, 18, 17, 19, lo, hi)

// STORE4 writes the sums of the four accumulator pairs to dst.
#define STORE4 \
	HSUM(0, 1); HSUM(2, 3); HSUM(4, 5); HSUM(6, 7); MOVD dst+0(FP), R9; \
	FMOVS F0, 0(R9); FMOVS F2, 4(R9); FMOVS F4, 8(R9); FMOVS F6, 12(R9)

// DOT_ONE defines func name(w, a *byte, nb int) float32 with ROW as the
// weight block and SUMS as the lane sums.
#define DOT_ONE(name, ROW, SUMS) \
TEXT name(SB), NOSPLIT, $0-28; \
	MOVD w+0(FP), R0; MOVD a+8(FP), R1; MOVD nb+16(FP), R2; \
	Q4_CONSTS; ZERO8; \
loop: \
	ACT(R1); ROW(SUMS, R0, V0, V1); \
	SUB $1, R2; CBNZ R2, loop; \
	HSUM(0, 1); FMOVS F0, ret+24(FP); RET

// DOT_ROWS4 defines func name(dst *[4]float32, w *byte, stride int, a *byte, nb int).
#define DOT_ROWS4(name, ROW, SUMS) \
TEXT name(SB), NOSPLIT, $0-40; \
	MOVD w+8(FP), R0; MOVD stride+16(FP), R3; MOVD a+24(FP), R1; MOVD nb+32(FP), R2; \
	ADD R3, R0, R4; ADD R3, R4, R5; ADD R3, R5, R6; \
	Q4_CONSTS; ZERO8; \
loop: \
	ACT(R1); ROW(SUMS, R0, V0, V1); ROW(SUMS, R4, V2, V3); ROW(SUMS, R5, V4, V5); ROW(SUMS, R6, V6, V7); \
	SUB $1, R2; CBNZ R2, loop; \
	STORE4; RET

// Q4_TOKENS4 defines func name(dst *[4]float32, w, a *byte, stride int, nb int).
#define Q4_TOKENS4(name, SUMS) \
TEXT name(SB), NOSPLIT, $0-40; \
	MOVD w+8(FP), R0; MOVD a+16(FP), R1; MOVD stride+24(FP), R3; MOVD nb+32(FP), R2; \
	ADD R3, R1, R4; ADD R3, R4, R5; ADD R3, R5, R6; \
	Q4_CONSTS; ZERO8; \
loop: \
	F16(R0, F23); VLD1.P 16(R0), [V16.B16]; Q4_UNPACK(V16, V17); \
	Q4_TOKEN(SUMS, R1, V0, V1); Q4_TOKEN(SUMS, R4, V2, V3); Q4_TOKEN(SUMS, R5, V4, V5); Q4_TOKEN(SUMS, R6, V6, V7); \
	SUB $1, R2; CBNZ R2, loop; \
	STORE4; RET

DOT_ONE(·dotQ4_0Q8_0SDOT, Q4_ROW, SDOT_SUMS)
DOT_ONE(·dotQ4_0Q8_0NEON, Q4_ROW, NEON_SUMS)
DOT_ROWS4(·dotQ4_0Q8_0Rows4SDOT, Q4_ROW, SDOT_SUMS)
DOT_ROWS4(·dotQ4_0Q8_0Rows4NEON, Q4_ROW, NEON_SUMS)
Q4_TOKENS4(·dotQ4_0Q8_0Tokens4SDOT, SDOT_SUMS)
Q4_TOKENS4(·dotQ4_0Q8_0Tokens4NEON, NEON_SUMS)
DOT_ONE(·dotQ8_0Q8_0SDOT, Q8_ROW, SDOT_SUMS)
DOT_ONE(·dotQ8_0Q8_0NEON, Q8_ROW, NEON_SUMS)
DOT_ROWS4(·dotQ8_0Q8_0Rows4SDOT, Q8_ROW, SDOT_SUMS)
DOT_ROWS4(·dotQ8_0Q8_0Rows4NEON, Q8_ROW, NEON_SUMS)

// func quantizeQ8_0NEON(x *float32, dst *byte, nb int, evenHalves bool)
//
// As quantizeQ8_0AVX2: amax by FMAX over |x| (the input is finite), the
// scale amax/127 converted to F16 with FCVT (to nearest, ties to even),
// then x·id rounded by FCVTAS (as math.Round) or FCVTNS (as
// math.RoundToEven) and narrowed to bytes by keeping the low halves.
TEXT ·quantizeQ8_0NEON(SB), NOSPLIT, $0-25
	MOVD x+0(FP), R0
	MOVD dst+8(FP), R1
	MOVD nb+16(FP), R2
	MOVBU evenHalves+24(FP), R3
	FMOVS $127.0, F27
	FMOVS $1.0, F28
	MOVW $0x7f800000, R10 // +Inf

loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	FABS(8, 0)
	FABS(9, 1)
	FABS(10, 2)
	FABS(11, 3)
	FABS(12, 4)
	FABS(13, 5)
	FABS(14, 6)
	FABS(15, 7)
	FMAX(8, 8, 9)
	FMAX(10, 10, 11)
	FMAX(12, 12, 13)
	FMAX(14, 14, 15)
	FMAX(8, 8, 10)
	FMAX(12, 12, 14)
	FMAX(8, 8, 12)
	FMAXV(8, 8)           // amax
	FDIVS F27, F8, F9     // d = amax/127
	FCVTSH F9, F10
	FMOVS F10, R9
	MOVH.P R9, 2(R1)
	CBNZ R3, ggmlid
	FDIVS F9, F28, F11    // id = 1/d
	B haveid

ggmlid:
	FDIVS F8, F27, F11    // id = 127/amax

haveid:
	// id = 0 where it is +Inf (amax 0 or tiny), as the reference.
	FMOVS F11, R9
	CMPW R10, R9
	CSELW EQ, ZR, R9, R9
	VDUP R9, V11.S4
	FMUL(0, 0, 11)
	FMUL(1, 1, 11)
	FMUL(2, 2, 11)
	FMUL(3, 3, 11)
	FMUL(4, 4, 11)
	FMUL(5, 5, 11)
	FMUL(6, 6, 11)
	FMUL(7, 7, 11)
	CBNZ R3, even
	FCVTAS(0, 0)
	FCVTAS(1, 1)
	FCVTAS(2, 2)
	FCVTAS(3, 3)
	FCVTAS(4, 4)
	FCVTAS(5, 5)
	FCVTAS(6, 6)
	FCVTAS(7, 7)
	B pack

even:
	FCVTNS(0, 0)
	FCVTNS(1, 1)
	FCVTNS(2, 2)
	FCVTNS(3, 3)
	FCVTNS(4, 4)
	FCVTNS(5, 5)
	FCVTNS(6, 6)
	FCVTNS(7, 7)

pack:
	// The quants are -127..127: the low byte of each int32 is the int8.
	VUZP1 V1.H8, V0.H8, V0.H8
	VUZP1 V3.H8, V2.H8, V2.H8
	VUZP1 V5.H8, V4.H8, V4.H8
	VUZP1 V7.H8, V6.H8, V6.H8
	VUZP1 V2.B16, V0.B16, V0.B16
	VUZP1 V6.B16, V4.B16, V1.B16
	VST1.P [V0.B16, V1.B16], 32(R1)
	SUB $1, R2
	CBNZ R2, loop
	RET
