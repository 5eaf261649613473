//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// NEON kernels of the K-quant lane-order dot products (klanes.go), bit
// for bit the Go emulation: the integer lanes are exact in any order, and
// the float steps are its FMA32s as FMLA and its rounded products as FMUL.
// Each kernel comes twice, with SDOT and with plain NEON lane sums.
//
// A weight super-block is first unpacked into a 280-byte buffer on the
// stack (R7): its 256 quants as signed bytes in element order, the scale
// of every 16 elements as a signed byte (256-271) and, for Q4_K and Q5_K,
// the 8 mins (272-279); d_w goes to F20, dmin_w to F21. The buffer is
// then dotted with one Q8_K block per row or token, so the four-token
// kernels unpack each weight block once.
//
// Registers: V0-V7 float lane accumulators (row or token r: lanes 0-3 in
// V(2r), 4-7 in V(2r+1)), V8-V11 min-correction accumulators (Q4_K: four
// pair lanes; Q5_K: the scalar sum in every lane), V12-V13 integer lanes,
// V14-V17 the scales as int32, F20-F21 d_w and dmin_w, F23 d_a, the rest
// scratch (V25-V26 for NEON_SUMS). R0 the weights, R1 (and R4-R6 for four
// tokens) the activations, R2 the blocks left, R7 the buffer, R9-R15 and
// R19-R20 scratch.

// Offsets in the buffer of the 16 scales (after the quants) and the mins.
#define BUF_SC 256
#define BUF_MINS 272

// KSCALES unpacks the 12 scale bytes at x (stepping x past them) into
// the buffer's scales, each twice as it covers 32 elements, and mins: the
// kmask steps of ggml's Q4_K and Q5_K dots (scaleMinK4).
#define KSCALES(x) \
	MOVWU.P 4(x), R10; MOVWU.P 4(x), R11; MOVWU.P 4(x), R12; \
	ANDW $0x3f3f3f3f, R10, R13; \
	ANDW $0x0f0f0f0f, R12, R14; LSRW $2, R10, R15; ANDW $0x30303030, R15, R15; ORRW R15, R14, R14; \
	ANDW $0x3f3f3f3f, R11, R15; \
	LSRW $4, R12, R19; ANDW $0x0f0f0f0f, R19, R19; LSRW $2, R11, R20; ANDW $0x30303030, R20, R20; ORRW R20, R19, R19; \
	ORR R14<<32, R13, R13; ORR R19<<32, R15, R15; \
	MOVD R15, BUF_MINS(R7); \
	VMOV R13, V31.D[0]; VZIP1 V31.B16, V31.B16, V31.B16; \
	ADD $BUF_SC, R7, R10; VST1 [V31.B16], (R10)

// Q4_PAIR stores the 64 quants of the 32 nibble bytes in Va, Vb: the low
// nibbles are elements 0-31, the high ones 32-63 (V31 = 0x0f).
#define Q4_PAIR(a, b) \
	VAND V31.B16, a.B16, V22.B16; VAND V31.B16, b.B16, V23.B16; \
	VUSHR $4, a.B16, V24.B16; VUSHR $4, b.B16, V25.B16; \
	VST1.P [V22.B16, V23.B16, V24.B16, V25.B16], 64(R10)

// UNPACK_Q4K unpacks the Q4_K block at x (d, dmin, scales, 128 bytes of
// nibbles) and steps x past it.
#define UNPACK_Q4K(x) \
	F16(x, F20); F16(x, F21); KSCALES(x); \
	VLD1.P 64(x), [V12.B16, V13.B16, V14.B16, V15.B16]; \
	VLD1.P 64(x), [V16.B16, V17.B16, V18.B16, V19.B16]; \
	VMOVI $15, V31.B16; MOVD R7, R10; \
	Q4_PAIR(V12, V13); Q4_PAIR(V14, V15); Q4_PAIR(V16, V17); Q4_PAIR(V18, V19)

// Q5_BIT ors the next fifth bit of each byte (bit 0 of Vh, which then
// moves down) into bit 4 of Vq (V30 = 0x10).
#define Q5_BIT(q, h) \
	VSHL $4, h.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; VORR V28.B16, q.B16, q.B16; \
	VUSHR $1, h.B16, h.B16

// Q5_PAIR is Q4_PAIR with the fifth bits of qh (V26-V27): bit c of qh[i]
// belongs to element i of the 32 elements c.
#define Q5_PAIR(a, b) \
	VAND V31.B16, a.B16, V22.B16; VAND V31.B16, b.B16, V23.B16; \
	VUSHR $4, a.B16, V24.B16; VUSHR $4, b.B16, V25.B16; \
	Q5_BIT(V22, V26); Q5_BIT(V23, V27); Q5_BIT(V24, V26); Q5_BIT(V25, V27); \
	VST1.P [V22.B16, V23.B16, V24.B16, V25.B16], 64(R10)

// UNPACK_Q5K unpacks the Q5_K block at x (d, dmin, scales, 32 bytes of
// fifth bits, 128 of nibbles) and steps x past it.
#define UNPACK_Q5K(x) \
	F16(x, F20); F16(x, F21); KSCALES(x); \
	VLD1.P 32(x), [V26.B16, V27.B16]; \
	VLD1.P 64(x), [V12.B16, V13.B16, V14.B16, V15.B16]; \
	VLD1.P 64(x), [V16.B16, V17.B16, V18.B16, V19.B16]; \
	VMOVI $15, V31.B16; VMOVI $16, V30.B16; MOVD R7, R10; \
	Q5_PAIR(V12, V13); Q5_PAIR(V14, V15); Q5_PAIR(V16, V17); Q5_PAIR(V18, V19)

// Q6_PUT finishes 16 Q6_K quants: the low nibbles in Vq, the high bits
// (already at bits 4-5) in V28, minus 32 (V29).
#define Q6_PUT(q) VORR V28.B16, q.B16, q.B16; VSUB V29.B16, q.B16, q.B16

// Q6_HALF stores the 128 quants of half a Q6_K block: 64 bytes of low
// bits in Vl0-Vl3, 32 of high bits in Vh0-Vh1. Elements 32k..32k+31 take
// nibble k/2 of l(2(k%2)), l(2(k%2)+1) and bits 2k-2k+1 of h0, h1
// (V30 = 0x30, V31 = 0x0f).
#define Q6_HALF(l0, l1, l2, l3, h0, h1) \
	VAND V31.B16, l0.B16, V26.B16; VSHL $4, h0.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; Q6_PUT(V26); \
	VAND V31.B16, l1.B16, V27.B16; VSHL $4, h1.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; Q6_PUT(V27); \
	VST1.P [V26.B16, V27.B16], 32(R10); \
	VAND V31.B16, l2.B16, V26.B16; VSHL $2, h0.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; Q6_PUT(V26); \
	VAND V31.B16, l3.B16, V27.B16; VSHL $2, h1.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; Q6_PUT(V27); \
	VST1.P [V26.B16, V27.B16], 32(R10); \
	VUSHR $4, l0.B16, V26.B16; VAND V30.B16, h0.B16, V28.B16; Q6_PUT(V26); \
	VUSHR $4, l1.B16, V27.B16; VAND V30.B16, h1.B16, V28.B16; Q6_PUT(V27); \
	VST1.P [V26.B16, V27.B16], 32(R10); \
	VUSHR $4, l2.B16, V26.B16; VUSHR $2, h0.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; Q6_PUT(V26); \
	VUSHR $4, l3.B16, V27.B16; VUSHR $2, h1.B16, V28.B16; VAND V30.B16, V28.B16, V28.B16; Q6_PUT(V27); \
	VST1.P [V26.B16, V27.B16], 32(R10)

// UNPACK_Q6K unpacks the Q6_K block at x (128 bytes of low bits, 64 of
// high bits, 16 scales, d) and steps x past it.
#define UNPACK_Q6K(x) \
	VLD1.P 64(x), [V12.B16, V13.B16, V14.B16, V15.B16]; \
	VLD1.P 64(x), [V16.B16, V17.B16, V18.B16, V19.B16]; \
	VLD1.P 32(x), [V22.B16, V23.B16]; VLD1.P 32(x), [V24.B16, V25.B16]; \
	VLD1.P 16(x), [V27.B16]; ADD $BUF_SC, R7, R10; VST1 [V27.B16], (R10); \
	F16(x, F20); \
	VMOVI $15, V31.B16; VMOVI $0x30, V30.B16; VMOVI $32, V29.B16; MOVD R7, R10; \
	Q6_HALF(V12, V13, V14, V15, V22, V23); Q6_HALF(V16, V17, V18, V19, V24, V25)

// CHUNK adds the lane sums of the next 32 quants and activations, times
// the scales s (elements 0-15: lane i of V(s); 16-31: lane i+1), to V12
// (lanes 0-3) and V13 (lanes 4-7). R10 walks the activations, R11 the
// buffer.
#define CHUNK(SUMS, s, i) \
	VLD1.P 32(R11), [V18.B16, V19.B16]; VLD1.P 32(R10), [V27.B16, V28.B16]; \
	SUMS(29, 18, 27); SUMS(30, 19, 28); MLAE(12, 29, s, i); MLAE(13, 30, s, (i)+1)

// LANES sets V12-V13 to the integer lanes of the buffer times the Q8_K
// block at y, F23 to its scale, and leaves R10 at its block sums.
#define LANES(SUMS, y) \
	MOVD y, R10; MOVD R7, R11; FMOVS.P 4(R10), F23; \
	ADD $BUF_SC, R7, R12; VLD1 (R12), [V14.B16]; \
	SXTL2(15, 14); SXTL(14, 14); SXTL2H(17, 15); SXTLH(16, 15); SXTL2H(15, 14); SXTLH(14, 14); \
	VEOR V12.B16, V12.B16, V12.B16; VEOR V13.B16, V13.B16, V13.B16; \
	CHUNK(SUMS, 14, 0); CHUNK(SUMS, 14, 2); CHUNK(SUMS, 15, 0); CHUNK(SUMS, 15, 2); \
	CHUNK(SUMS, 16, 0); CHUNK(SUMS, 16, 2); CHUNK(SUMS, 17, 0); CHUNK(SUMS, 17, 2)

// FMA_LANES accumulates V12-V13 times d = d_a·d_w (rounded) into lo, hi.
#define FMA_LANES(lo, hi) \
	SCVTF(12, 12); SCVTF(13, 13); FMULS F20, F23, F22; VDUP V22.S[0], V22.S4; \
	VFMLA V22.S4, V12.S4, lo.S4; VFMLA V22.S4, V13.S4, hi.S4

// MIN_PAIRS sets V24 to the four pair sums min·bsum of minPairs (the
// block sums at R10 added in 16 bits first), converted to float32, and V22
// to dmin = -d_a·dmin_w in every lane.
#define MIN_PAIRS \
	VLD1 (R10), [V18.H8, V19.H8]; VADDP V19.H8, V18.H8, V18.H8; \
	ADD $BUF_MINS, R7, R12; VLD1 (R12), [V19.B8]; VUXTL V19.B8, V19.H8; \
	SMULLH(24, 19, 18); SMULL2H(25, 19, 18); ADDP(24, 24, 25)

// DMIN sets V22 to dmin = -(d_a·dmin_w) in every lane.
#define DMIN FMULS F21, F23, F22; FNEGS F22, F22; VDUP V22.S[0], V22.S4

// The activation block of a row or token: lane sums into lo and hi, the
// min correction into m (Q4_K: four pair lanes; Q5_K: their integer sum
// in every lane, one FMA as the emulation's scalar one).
#define TOKEN_Q4K(SUMS, y, lo, hi, m) \
	LANES(SUMS, y); FMA_LANES(lo, hi); MIN_PAIRS; SCVTF(24, 24); DMIN; VFMLA V22.S4, V24.S4, m.S4
#define TOKEN_Q5K(SUMS, y, lo, hi, m) \
	LANES(SUMS, y); FMA_LANES(lo, hi); MIN_PAIRS; ADDP(24, 24, 24); ADDP(24, 24, 24); SCVTF(24, 24); \
	DMIN; VFMLA V22.S4, V24.S4, m.S4
#define TOKEN_Q6K(SUMS, y, lo, hi, m) LANES(SUMS, y); FMA_LANES(lo, hi)

// The result of a row or token in Flo (lane 0 of Vlo): hsum8 of the
// lanes plus the min correction, (m0+m2)+(m1+m3) for Q4_K, lane 0 for Q5_K.
#define FINISH_Q4K(lo, hi, m) HSUM(lo, hi); EXT8(25, m, m); FADD(m, m, 25); FADDP(m, m); FADD(lo, lo, m)
#define FINISH_Q5K(lo, hi, m) HSUM(lo, hi); FADD(lo, lo, m)
#define FINISH_Q6K(lo, hi, m) HSUM(lo, hi)

// ZERO_MINS zeroes the min-correction accumulators V8-V11.
#define ZERO_MINS \
	VEOR V8.B16, V8.B16, V8.B16; VEOR V9.B16, V9.B16, V9.B16; \
	VEOR V10.B16, V10.B16, V10.B16; VEOR V11.B16, V11.B16, V11.B16

// STORE4 writes the results of the four rows or tokens to dst.
#define STORE4(FINISH) \
	FINISH(0, 1, 8); FINISH(2, 3, 9); FINISH(4, 5, 10); FINISH(6, 7, 11); MOVD dst+0(FP), R9; \
	FMOVS F0, 0(R9); FMOVS F2, 4(R9); FMOVS F4, 8(R9); FMOVS F6, 12(R9)

// KDOT_ONE defines func name(w, a *byte, nb int) float32.
#define KDOT_ONE(name, UNPACK, TOKEN, FINISH, SUMS) \
TEXT name(SB), NOSPLIT, $288-28; \
	MOVD w+0(FP), R0; MOVD a+8(FP), R1; MOVD nb+16(FP), R2; ADD $8, RSP, R7; \
	ZERO8; ZERO_MINS; \
loop: \
	UNPACK(R0); TOKEN(SUMS, R1, V0, V1, V8); ADD $292, R1; \
	SUB $1, R2; CBNZ R2, loop; \
	FINISH(0, 1, 8); FMOVS F0, ret+24(FP); RET

// KDOT_ROWS4 defines func name(dst *[4]float32, w *byte, stride int, a *byte, nb int).
#define KDOT_ROWS4(name, UNPACK, TOKEN, FINISH, SUMS) \
TEXT name(SB), NOSPLIT, $288-40; \
	MOVD w+8(FP), R0; MOVD stride+16(FP), R3; MOVD a+24(FP), R1; MOVD nb+32(FP), R2; ADD $8, RSP, R7; \
	ADD R3, R0, R4; ADD R3, R4, R5; ADD R3, R5, R6; \
	ZERO8; ZERO_MINS; \
loop: \
	UNPACK(R0); TOKEN(SUMS, R1, V0, V1, V8); UNPACK(R4); TOKEN(SUMS, R1, V2, V3, V9); \
	UNPACK(R5); TOKEN(SUMS, R1, V4, V5, V10); UNPACK(R6); TOKEN(SUMS, R1, V6, V7, V11); \
	ADD $292, R1; SUB $1, R2; CBNZ R2, loop; \
	STORE4(FINISH); RET

// KDOT_TOKENS4 defines func name(dst *[4]float32, w, a *byte, stride int, nb int).
#define KDOT_TOKENS4(name, UNPACK, TOKEN, FINISH, SUMS) \
TEXT name(SB), NOSPLIT, $288-40; \
	MOVD w+8(FP), R0; MOVD a+16(FP), R1; MOVD stride+24(FP), R3; MOVD nb+32(FP), R2; ADD $8, RSP, R7; \
	ADD R3, R1, R4; ADD R3, R4, R5; ADD R3, R5, R6; \
	ZERO8; ZERO_MINS; \
loop: \
	UNPACK(R0); \
	TOKEN(SUMS, R1, V0, V1, V8); TOKEN(SUMS, R4, V2, V3, V9); \
	TOKEN(SUMS, R5, V4, V5, V10); TOKEN(SUMS, R6, V6, V7, V11); \
	ADD $292, R1; ADD $292, R4; ADD $292, R5; ADD $292, R6; \
	SUB $1, R2; CBNZ R2, loop; \
	STORE4(FINISH); RET

KDOT_ONE(·dotQ4_KSDOT, UNPACK_Q4K, TOKEN_Q4K, FINISH_Q4K, SDOT_SUMS)
KDOT_ONE(·dotQ4_KNEON, UNPACK_Q4K, TOKEN_Q4K, FINISH_Q4K, NEON_SUMS)
KDOT_ROWS4(·dotQ4_KRows4SDOT, UNPACK_Q4K, TOKEN_Q4K, FINISH_Q4K, SDOT_SUMS)
KDOT_ROWS4(·dotQ4_KRows4NEON, UNPACK_Q4K, TOKEN_Q4K, FINISH_Q4K, NEON_SUMS)
KDOT_TOKENS4(·dotQ4_KTokens4SDOT, UNPACK_Q4K, TOKEN_Q4K, FINISH_Q4K, SDOT_SUMS)
KDOT_TOKENS4(·dotQ4_KTokens4NEON, UNPACK_Q4K, TOKEN_Q4K, FINISH_Q4K, NEON_SUMS)
KDOT_ONE(·dotQ5_KSDOT, UNPACK_Q5K, TOKEN_Q5K, FINISH_Q5K, SDOT_SUMS)
KDOT_ONE(·dotQ5_KNEON, UNPACK_Q5K, TOKEN_Q5K, FINISH_Q5K, NEON_SUMS)
KDOT_ROWS4(·dotQ5_KRows4SDOT, UNPACK_Q5K, TOKEN_Q5K, FINISH_Q5K, SDOT_SUMS)
KDOT_ROWS4(·dotQ5_KRows4NEON, UNPACK_Q5K, TOKEN_Q5K, FINISH_Q5K, NEON_SUMS)
KDOT_TOKENS4(·dotQ5_KTokens4SDOT, UNPACK_Q5K, TOKEN_Q5K, FINISH_Q5K, SDOT_SUMS)
KDOT_TOKENS4(·dotQ5_KTokens4NEON, UNPACK_Q5K, TOKEN_Q5K, FINISH_Q5K, NEON_SUMS)
KDOT_ONE(·dotQ6_KSDOT, UNPACK_Q6K, TOKEN_Q6K, FINISH_Q6K, SDOT_SUMS)
KDOT_ONE(·dotQ6_KNEON, UNPACK_Q6K, TOKEN_Q6K, FINISH_Q6K, NEON_SUMS)
KDOT_ROWS4(·dotQ6_KRows4SDOT, UNPACK_Q6K, TOKEN_Q6K, FINISH_Q6K, SDOT_SUMS)
KDOT_ROWS4(·dotQ6_KRows4NEON, UNPACK_Q6K, TOKEN_Q6K, FINISH_Q6K, NEON_SUMS)
KDOT_TOKENS4(·dotQ6_KTokens4SDOT, UNPACK_Q6K, TOKEN_Q6K, FINISH_Q6K, SDOT_SUMS)
KDOT_TOKENS4(·dotQ6_KTokens4NEON, UNPACK_Q6K, TOKEN_Q6K, FINISH_Q6K, NEON_SUMS)
