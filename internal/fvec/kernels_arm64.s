//go:build !purego

#include "textflag.h"

// NEON bodies of the kernels, bit for bit the Go bodies of generic.go
// (which fix ggml's AVX2 orders): an 8-lane accumulator is a pair of
// 4-lane registers; FMLA/FMLS where the order fuses, FMUL then FADD where
// it rounds the product. The float instructions Go's assembler lacks are
// encoded below; their operands are register numbers (5 means V5).

#define FADD(d, n, m)   WORD $(0x4e20d400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn + Vm
#define FSUB(d, n, m)   WORD $(0x4ea0d400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn - Vm
#define FMUL(d, n, m)   WORD $(0x6e20dc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn · Vm
#define FDIV(d, n, m)   WORD $(0x6e20fc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn / Vm
#define FMLA(d, n, m)   WORD $(0x4e20cc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S += Vn · Vm, one rounding
#define FMLS(d, n, m)   WORD $(0x4ea0cc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S -= Vn · Vm, one rounding
#define FADDPV(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = pair sums of Vn.4S, then Vm.4S
#define FADDP(d, n)     WORD $(0x7e30d800 | (n)<<5 | (d))           // Sd = Vn.S[0] + Vn.S[1]
#define FABS(d, n)      WORD $(0x4ea0f800 | (n)<<5 | (d))           // Vd.4S = |Vn|
#define FCMGT(d, n, m)  WORD $(0x6ea0e400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn > Vm ? ones : 0
#define FCMLEZ(d, n)    WORD $(0x6ea0d800 | (n)<<5 | (d))           // Vd.4S = Vn <= 0 ? ones : 0
#define FCVTL(d, n)     WORD $(0x0e217800 | (n)<<5 | (d))           // Vd.4S = float32(Vn.4H), F16 lanes 0-3
#define FCVTL2(d, n)    WORD $(0x4e217800 | (n)<<5 | (d))           // Vd.4S = float32(Vn.8H), F16 lanes 4-7
#define DCVTL(d, n)     WORD $(0x0e617800 | (n)<<5 | (d))           // Vd.2D = float64(Vn.2S), lanes 0-1
#define DCVTL2(d, n)    WORD $(0x4e617800 | (n)<<5 | (d))           // Vd.2D = float64(Vn.4S), lanes 2-3
#define DADD(d, n, m)   WORD $(0x4e60d400 | (m)<<16 | (n)<<5 | (d)) // Vd.2D = Vn + Vm
#define DADDP(d, n)     WORD $(0x7e70d800 | (n)<<5 | (d))           // Dd = Vn.D[0] + Vn.D[1]
#define IADD(d, n, m)   WORD $(0x4ea08400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn + Vm, int32 lanes
#define ISUB(d, n, m)   WORD $(0x6ea08400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn - Vm, int32 lanes
#define SHL23(d, n)     WORD $(0x4f375400 | (n)<<5 | (d))           // Vd.4S = Vn << 23, int32 lanes
#define AND(d, n, m)    WORD $(0x4e201c00 | (m)<<16 | (n)<<5 | (d)) // Vd.16B = Vn & Vm
#define MOVV(d, n)      WORD $(0x4ea01c00 | (n)<<16 | (n)<<5 | (d)) // Vd = Vn (ORR)
#define BIT(d, n, m)    WORD $(0x6ea01c00 | (m)<<16 | (n)<<5 | (d)) // Vd = Vm ? Vn : Vd, bit by bit
#define EXT8(d, n, m)   WORD $(0x6e004000 | (m)<<16 | (n)<<5 | (d)) // Vd.16B = bytes 8-15 of Vn, 0-7 of Vm
#define EXT4(d, n, m)   WORD $(0x6e002000 | (m)<<16 | (n)<<5 | (d)) // Vd.16B = bytes 4-15 of Vn, 0-3 of Vm

// BCAST sets every lane of Vv to the 32-bit pattern c.
#define BCAST(c, v) MOVW $(c), R9; VDUP R9, v.S4

// REDUCE32 is reduce32: the accumulators' lanes (a0+a2) + (a1+a3), the
// halves, then two horizontal adds, leaving the sum in F0.
#define REDUCE32 \
	FADD(0, 0, 4); FADD(1, 1, 5); FADD(2, 2, 6); FADD(3, 3, 7); FADD(0, 0, 2); FADD(1, 1, 3); \
	FADD(0, 0, 1); FADDPV(0, 0, 0); FADDP(0, 0)

// HSUM8 sets Fd to hsum8 of Va (lanes 0-3) and Vb (4-7), using Vt.
#define HSUM8(d, a, b, t) FADD(d, a, b); EXT8(t, d, d); FADD(d, d, t); FADDP(d, d)

#define ZERO8 \
	VEOR V0.B16, V0.B16, V0.B16; VEOR V1.B16, V1.B16, V1.B16; \
	VEOR V2.B16, V2.B16, V2.B16; VEOR V3.B16, V3.B16, V3.B16; \
	VEOR V4.B16, V4.B16, V4.B16; VEOR V5.B16, V5.B16, V5.B16; \
	VEOR V6.B16, V6.B16, V6.B16; VEOR V7.B16, V7.B16, V7.B16

// func dotNEON(x, y *float32, n int) float32: accumulator j of V0-V7
// takes elements 8j..8j+7 of every 32.
TEXT ·dotNEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD n+16(FP), R2
	ZERO8

dotloop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R0), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R1), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R1), [V28.S4, V29.S4, V30.S4, V31.S4]
	FMLA(0, 16, 24)
	FMLA(1, 17, 25)
	FMLA(2, 18, 26)
	FMLA(3, 19, 27)
	FMLA(4, 20, 28)
	FMLA(5, 21, 29)
	FMLA(6, 22, 30)
	FMLA(7, 23, 31)
	SUB $32, R2
	CBNZ R2, dotloop
	REDUCE32
	FMOVS F0, ret+24(FP)
	RET

// F16MLA widens the F16s of Vh and accumulates their products with Vx0-Vx1
// into Va0-Va1 (V28-V29 scratch).
#define F16MLA(h, x0, x1, a0, a1) FCVTL(28, h); FCVTL2(29, h); FMLA(a0, x0, 28); FMLA(a1, x1, 29)

// func dotF16NEON(x *float32, y *uint16, n int) float32: as dotNEON.
TEXT ·dotF16NEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD n+16(FP), R2
	ZERO8

dotf16loop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R0), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R1), [V24.H8, V25.H8, V26.H8, V27.H8]
	F16MLA(24, 16, 17, 0, 1)
	F16MLA(25, 18, 19, 2, 3)
	F16MLA(26, 20, 21, 4, 5)
	F16MLA(27, 22, 23, 6, 7)
	SUB $32, R2
	CBNZ R2, dotf16loop
	REDUCE32
	FMOVS F0, ret+24(FP)
	RET

// func axpyNEON(a float32, x, y *float32, n int)
TEXT ·axpyNEON(SB), NOSPLIT, $0-32
	FMOVS a+0(FP), F31
	VDUP V31.S[0], V31.S4
	MOVD x+8(FP), R0
	MOVD y+16(FP), R1
	MOVD n+24(FP), R2

axpyloop:
	VLD1.P 32(R0), [V0.S4, V1.S4]
	VLD1 (R1), [V2.S4, V3.S4]
	FMLA(2, 0, 31)
	FMLA(3, 1, 31)
	VST1.P [V2.S4, V3.S4], 32(R1)
	SUB $8, R2
	CBNZ R2, axpyloop
	RET

// func axpyF16NEON(a float32, x *uint16, y *float32, n int)
TEXT ·axpyF16NEON(SB), NOSPLIT, $0-32
	FMOVS a+0(FP), F31
	VDUP V31.S[0], V31.S4
	MOVD x+8(FP), R0
	MOVD y+16(FP), R1
	MOVD n+24(FP), R2

axpyf16loop:
	VLD1.P 16(R0), [V0.H8]
	VLD1 (R1), [V2.S4, V3.S4]
	FCVTL(4, 0)
	FCVTL2(5, 0)
	FMLA(2, 4, 31)
	FMLA(3, 5, 31)
	VST1.P [V2.S4, V3.S4], 32(R1)
	SUB $8, R2
	CBNZ R2, axpyf16loop
	RET

// func scaleNEON(dst, x *float32, n int, a float32)
TEXT ·scaleNEON(SB), NOSPLIT, $0-28
	MOVD dst+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	FMOVS a+24(FP), F31
	VDUP V31.S[0], V31.S4

scaleloop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	FMUL(0, 0, 31)
	FMUL(1, 1, 31)
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUB $8, R2
	CBNZ R2, scaleloop
	RET

// ELEMENTWISE defines func name(dst, x, y *float32, n int) as dst = x OP y.
#define ELEMENTWISE(name, OP) \
TEXT name(SB), NOSPLIT, $0-32; \
	MOVD dst+0(FP), R0; MOVD x+8(FP), R1; MOVD y+16(FP), R2; MOVD n+24(FP), R3; \
loop: \
	VLD1.P 32(R1), [V0.S4, V1.S4]; VLD1.P 32(R2), [V2.S4, V3.S4]; \
	OP(0, 0, 2); OP(1, 1, 3); VST1.P [V0.S4, V1.S4], 32(R0); \
	SUB $8, R3; CBNZ R3, loop; RET

ELEMENTWISE(·mulNEON, FMUL)
ELEMENTWISE(·addNEON, FADD)

// SQ4 squares the four float32s of Vx (rounded, in place) and adds them
// as float64s to the partial sums Va (elements 0-1) and Vb (2-3).
#define SQ4(x, a, b) FMUL(x, x, x); DCVTL(20, x); DCVTL2(21, x); DADD(a, a, 20); DADD(b, b, 21)

// func sumSqNEON(x *float32, n int) float64: acc[l] of sumSqGo is lane
// l%2 of V(l/2).
TEXT ·sumSqNEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n+8(FP), R2
	ZERO8

sumsqloop:
	VLD1.P 64(R0), [V16.S4, V17.S4, V18.S4, V19.S4]
	SQ4(16, 0, 1)
	SQ4(17, 2, 3)
	SQ4(18, 4, 5)
	SQ4(19, 6, 7)
	SUB $16, R2
	CBNZ R2, sumsqloop
	// s[0..1] = (acc[0..1]+acc[8..9]) + (acc[4..5]+acc[12..13]), s[2..3]
	// likewise, then (s0+s2) + (s1+s3).
	DADD(0, 0, 4)
	DADD(2, 2, 6)
	DADD(0, 0, 2)
	DADD(1, 1, 5)
	DADD(3, 3, 7)
	DADD(1, 1, 3)
	DADD(0, 0, 1)
	DADDP(0, 0)
	FMOVD F0, ret+16(FP)
	RET

// MAXIN sets Va to Vb in the lanes where Vb > Va (never for a NaN), as
// maxGo's "if v > m", using V4.
#define MAXIN(a, b) FCMGT(4, b, a); BIT(a, b, 4)

// func maxNEON(x *float32, n int) float32
TEXT ·maxNEON(SB), NOSPLIT, $0-20
	MOVD x+0(FP), R0
	MOVD n+8(FP), R2
	BCAST(0xff800000, V0)
	BCAST(0xff800000, V1)

maxloop:
	VLD1.P 32(R0), [V2.S4, V3.S4]
	MAXIN(0, 2)
	MAXIN(1, 3)
	SUB $8, R2
	CBNZ R2, maxloop
	MAXIN(0, 1)
	EXT8(1, 0, 0)
	MAXIN(0, 1)
	EXT4(1, 0, 0)
	MAXIN(0, 1)
	FMOVS F0, ret+16(FP)
	RET

// EXP_CONSTS loads expPoly's constants (see exp.go) into V17-V30.
#define EXP_CONSTS \
	BCAST(0x4b400000, V17); BCAST(0x3fb8aa3b, V18); BCAST(0x3f317200, V19); BCAST(0x35bfbe8e, V20); \
	BCAST(0x3c072010, V21); BCAST(0x3d2b9f17, V22); BCAST(0x3e2aaf33, V23); BCAST(0x3efffedb, V24); \
	BCAST(0x3f7ffff6, V25); BCAST(0x42fc0000, V26); BCAST(0x3f800000, V27); BCAST(0x43400000, V28); \
	BCAST(0x82000000, V29); BCAST(0x7f000000, V30)

// EXP4 replaces the four float32s of Vx by expPoly of them, using V3-V14
// and R9-R10; the lanes that need the scale split in two (|n| > 126) are
// computed only when there are any, at label slow, and merged by mask.
#define EXP4(x, done) \
	MOVV(3, 17); FMLA(3, x, 18);                         /* z = fma(x, log2e, shift) */ \
	FSUB(4, 3, 17);                                      /* n */ \
	MOVV(5, x); FMLS(5, 4, 19); FMLS(5, 4, 20);          /* b = fma(-n, lo, fma(-n, hi, x)) */ \
	SHL23(6, 3); IADD(7, 6, 27);                         /* e, k */ \
	FMUL(8, 5, 5);                                       /* u = b·b */ \
	MOVV(9, 22); FMLA(9, 21, 5);                         /* fma(P0, b, P1) */ \
	MOVV(10, 24); FMLA(10, 23, 5); FMLA(10, 9, 8);       /* fma(that, u, fma(P2, b, P3)) */ \
	FMUL(11, 25, 5); FMLA(11, 10, 8);                    /* j */ \
	MOVV(13, 7); FMLA(13, 7, 11);                        /* fma(k, j, k) */ \
	FABS(12, 4); FCMGT(12, 12, 26);                      /* |n| > 126 */ \
	VMOV V12.D[0], R9; VMOV V12.D[1], R10; ORR R9, R10; CBZ R10, done; \
	FCMLEZ(14, 4); AND(14, 14, 29);                      /* g */ \
	IADD(9, 14, 30); ISUB(10, 6, 14);                    /* s1, s2 */ \
	MOVV(7, 10); FMLA(7, 10, 11); FMUL(7, 7, 9); BIT(13, 7, 12); /* fma(s2, j, s2)·s1 */ \
	FABS(14, 4); FCMGT(14, 14, 28); FMUL(9, 9, 9); BIT(13, 9, 14); /* s1·s1 where |n| > 192 */ \
done: \
	MOVV(x, 13)

// func expSumNEON(dst, x *float32, n int, sub float32) float64: blocks
// of 8, each block's hsum8 added in float64 (F15).
TEXT ·expSumNEON(SB), NOSPLIT, $0-40
	MOVD dst+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	FMOVS sub+24(FP), F16
	VDUP V16.S[0], V16.S4
	EXP_CONSTS
	VEOR V15.B16, V15.B16, V15.B16

expsumloop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	FSUB(0, 0, 16)
	FSUB(1, 1, 16)
	EXP4(0, lo)
	EXP4(1, hi)
	VST1.P [V0.S4, V1.S4], 32(R0)
	HSUM8(2, 0, 1, 3)
	FCVTSD F2, F2
	FADDD F2, F15
	SUB $8, R2
	CBNZ R2, expsumloop
	FMOVD F15, ret+32(FP)
	RET

// func siluMulNEON(dst, gate, up *float32, n int): g / (1 + exp(0-g)) · u
// with 0-g (not -g) as siluMulGo, V31 = 0.
TEXT ·siluMulNEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD gate+8(FP), R1
	MOVD up+16(FP), R2
	MOVD n+24(FP), R3
	EXP_CONSTS
	VEOR V31.B16, V31.B16, V31.B16

siluloop:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	FSUB(2, 31, 0)
	FSUB(15, 31, 1)
	EXP4(2, lo)
	EXP4(15, hi)
	FADD(2, 2, 27)
	FADD(15, 15, 27)
	FDIV(2, 0, 2)
	FDIV(15, 1, 15)
	VLD1.P 32(R2), [V0.S4, V1.S4]
	FMUL(0, 2, 0)
	FMUL(1, 15, 1)
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUB $8, R3
	CBNZ R3, siluloop
	RET

// func rotateNEON(dst, x, cs *float32, n int): LD2 splits the pairs into
// x0s (V0), x1s (V1), cosines (V2) and sines (V3).
TEXT ·rotateNEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD x+8(FP), R1
	MOVD cs+16(FP), R2
	MOVD n+24(FP), R3

rotateloop:
	VLD2.P 32(R1), [V0.S4, V1.S4]
	VLD2.P 32(R2), [V2.S4, V3.S4]
	FMUL(4, 0, 2)
	FMUL(5, 1, 3)
	FSUB(4, 4, 5) // x0·c - x1·s
	FMUL(5, 0, 3)
	FMUL(6, 1, 2)
	FADD(5, 5, 6) // x0·s + x1·c
	VST2.P [V4.S4, V5.S4], 32(R0)
	SUB $8, R3
	CBNZ R3, rotateloop
	RET
