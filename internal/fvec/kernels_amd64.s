//go:build !purego

#include "textflag.h"

// AVX2 bodies of the kernels (see fvec.go for the orders they reproduce).
// Arguments are whole blocks; the Go wrappers add the tails.

// Constants of ggml_v_expf (exp.go), each in all eight lanes so that they
// can be memory operands.
#define SPLAT(off, v) \
	DATA expc<>+off+0(SB)/4, $v; DATA expc<>+off+4(SB)/4, $v; \
	DATA expc<>+off+8(SB)/4, $v; DATA expc<>+off+12(SB)/4, $v; \
	DATA expc<>+off+16(SB)/4, $v; DATA expc<>+off+20(SB)/4, $v; \
	DATA expc<>+off+24(SB)/4, $v; DATA expc<>+off+28(SB)/4, $v

SPLAT(0, 0x4b400000)   // 0x1.8p23
SPLAT(32, 0x3fb8aa3b)  // log2(e)
SPLAT(64, 0x3f317200)  // ln 2, high part
SPLAT(96, 0x35bfbe8e)  // ln 2, low part
SPLAT(128, 0x3c072010) // polynomial, b^5
SPLAT(160, 0x3d2b9f17) // b^4
SPLAT(192, 0x3e2aaf33) // b^3
SPLAT(224, 0x3efffedb) // b^2
SPLAT(256, 0x3f7ffff6) // b
SPLAT(288, 0x3f800000) // 1.0
SPLAT(320, 0x42fc0000) // 126.0
SPLAT(352, 0x43400000) // 192.0
SPLAT(384, 0x7fffffff) // |x| mask
SPLAT(416, 0x82000000) // scale split for n <= 0
SPLAT(448, 0x7f000000) // 2^127
GLOBL expc<>(SB), RODATA|NOPTR, $480

#define SHIFT expc<>+0(SB)
#define LOG2E expc<>+32(SB)
#define LN2HI expc<>+64(SB)
#define LN2LO expc<>+96(SB)
#define P0 expc<>+128(SB)
#define P1 expc<>+160(SB)
#define P2 expc<>+192(SB)
#define P3 expc<>+224(SB)
#define P4 expc<>+256(SB)
#define ONE expc<>+288(SB)
#define C126 expc<>+320(SB)
#define C192 expc<>+352(SB)
#define ABS expc<>+384(SB)
#define GNEG expc<>+416(SB)
#define S1 expc<>+448(SB)

// EXP8 sets Y0 to ggml_v_expf(Y0), lane by lane as expPoly, without its
// branch (both paths are computed and blended: the same bits). Registers:
// Y1 z then d (|n| > 192), Y2 n, Y3 b then 0, Y4 e then s2, Y5 k, Y6 c
// (|n| > 126), Y7 u then g, Y8 j, Y9 s1, Y10 the result for |n| <= 126.
#define EXP8 \
	VMOVUPS SHIFT, Y1; VFMADD231PS LOG2E, Y0, Y1; \
	VSUBPS SHIFT, Y1, Y2; \
	VMOVAPS Y0, Y3; VFNMADD231PS LN2HI, Y2, Y3; VFNMADD231PS LN2LO, Y2, Y3; \
	VPSLLD $23, Y1, Y4; VPADDD ONE, Y4, Y5; \
	VANDPS ABS, Y2, Y6; VCMPPS $0x1e, C126, Y6, Y6; \
	VANDPS ABS, Y2, Y1; VCMPPS $0x1e, C192, Y1, Y1; \
	VMULPS Y3, Y3, Y7; \
	VMOVUPS P0, Y8; VFMADD213PS P1, Y3, Y8; \
	VMOVUPS P2, Y9; VFMADD213PS P3, Y3, Y9; \
	VFMADD213PS Y9, Y7, Y8; \
	VMULPS P4, Y3, Y9; VFMADD213PS Y9, Y7, Y8; \
	VMOVAPS Y8, Y10; VFMADD213PS Y5, Y5, Y10; \
	VXORPS Y3, Y3, Y3; VCMPPS $0x12, Y3, Y2, Y7; VANDPS GNEG, Y7, Y7; \
	VPADDD S1, Y7, Y9; VPSUBD Y7, Y4, Y4; \
	VFMADD213PS Y4, Y8, Y4; VMULPS Y9, Y4, Y4; \
	VMULPS Y9, Y9, Y9; \
	VBLENDVPS Y6, Y4, Y10, Y10; \
	VBLENDVPS Y1, Y9, Y10, Y0

// HSUM8 sets X1 to the horizontal sum of Y0 in hsum8's order.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; VADDPS X0, X1, X1; \
	VMOVHLPS X1, X1, X2; VADDPS X2, X1, X1; \
	VMOVSHDUP X1, X2; VADDSS X2, X1, X1

// REDUCE4 sets X0 to GGML_F32x8_REDUCE of Y0-Y3.
#define REDUCE4 \
	VADDPS Y2, Y0, Y0; VADDPS Y3, Y1, Y1; VADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; VHADDPS X0, X0, X0

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3
dotloop:
	VMOVUPS (SI), Y4; VFMADD231PS (DI), Y4, Y0
	VMOVUPS 32(SI), Y5; VFMADD231PS 32(DI), Y5, Y1
	VMOVUPS 64(SI), Y6; VFMADD231PS 64(DI), Y6, Y2
	VMOVUPS 96(SI), Y7; VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ dotloop
	REDUCE4
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotF16AVX2(x *float32, y *uint16, n int) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3
dotf16loop:
	VCVTPH2PS (DI), Y4; VFMADD231PS (SI), Y4, Y0
	VCVTPH2PS 16(DI), Y5; VFMADD231PS 32(SI), Y5, Y1
	VCVTPH2PS 32(DI), Y6; VFMADD231PS 64(SI), Y6, Y2
	VCVTPH2PS 48(DI), Y7; VFMADD231PS 96(SI), Y7, Y3
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ dotf16loop
	REDUCE4
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(a float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
axpyloop:
	VMOVUPS (DI), Y0; VFMADD231PS (SI), Y15, Y0; VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ axpyloop
	VZEROUPPER
	RET

// func axpyF16AVX2(a float32, x *uint16, y *float32, n int)
TEXT ·axpyF16AVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
axpyf16loop:
	VCVTPH2PS (SI), Y1
	VMOVUPS (DI), Y0; VFMADD231PS Y1, Y15, Y0; VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ axpyf16loop
	VZEROUPPER
	RET

// func scaleAVX2(dst, x *float32, n int, a float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y15
scaleloop:
	VMULPS (SI), Y15, Y0; VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ scaleloop
	VZEROUPPER
	RET

// func mulAVX2(dst, x, y *float32, n int)
TEXT ·mulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
mulloop:
	VMOVUPS (SI), Y0; VMULPS (DX), Y0, Y0; VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ mulloop
	VZEROUPPER
	RET

// func addAVX2(dst, x, y *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
addloop:
	VMOVUPS (SI), Y0; VADDPS (DX), Y0, Y0; VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ addloop
	VZEROUPPER
	RET

// func sumSqAVX2(x *float32, n int) float64
// Y0-Y3 hold the float64 sums of elements 0-3, 4-7, 8-11, 12-15 of each
// step of 16.
TEXT ·sumSqAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0; VXORPD Y1, Y1, Y1; VXORPD Y2, Y2, Y2; VXORPD Y3, Y3, Y3
sumsqloop:
	VMOVUPS (SI), Y4; VMULPS Y4, Y4, Y4
	VMOVUPS 32(SI), Y5; VMULPS Y5, Y5, Y5
	VCVTPS2PD X4, Y6; VADDPD Y6, Y0, Y0
	VEXTRACTF128 $1, Y4, X4; VCVTPS2PD X4, Y6; VADDPD Y6, Y1, Y1
	VCVTPS2PD X5, Y6; VADDPD Y6, Y2, Y2
	VEXTRACTF128 $1, Y5, X5; VCVTPS2PD X5, Y6; VADDPD Y6, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ sumsqloop
	VADDPD Y2, Y0, Y0; VADDPD Y3, Y1, Y1; VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1; VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// vmaxps returns its second source when either is NaN, so the accumulator
// (second) keeps its value past a NaN element, as `if v > m` does.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS negInf<>(SB), Y0
maxloop:
	VMOVUPS (SI), Y1; VMAXPS Y0, Y1, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ maxloop
	VEXTRACTF128 $1, Y0, X1; VMAXPS X0, X1, X0
	VMOVHLPS X0, X0, X1; VMAXPS X0, X1, X0
	VMOVSHDUP X0, X1; VMAXSS X0, X1, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

DATA negInf<>+0(SB)/4, $0xff800000
GLOBL negInf<>(SB), RODATA|NOPTR, $4

// func expSumAVX2(dst, x *float32, n int, sub float32) float64
TEXT ·expSumAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS sub+24(FP), Y15
	VXORPD X14, X14, X14
expsumloop:
	VMOVUPS (SI), Y0; VSUBPS Y15, Y0, Y0
	EXP8
	VMOVUPS Y0, (DI)
	HSUM8
	VCVTSS2SD X1, X1, X1; VADDSD X1, X14, X14
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ expsumloop
	VMOVSD X14, ret+32(FP)
	VZEROUPPER
	RET

// func siluMulAVX2(dst, gate, up *float32, n int)
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
silumulloop:
	VMOVUPS (SI), Y11
	VXORPS Y0, Y0, Y0; VSUBPS Y11, Y0, Y0
	EXP8
	VADDPS ONE, Y0, Y0
	VDIVPS Y0, Y11, Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ silumulloop
	VZEROUPPER
	RET

// func rotateAVX2(dst, x, cs *float32, n int)
// Four pairs a step: x·(c0,c0,c1,c1,...) and swapped x·(s0,s0,s1,s1,...),
// subtracted in even lanes and added in odd ones by vaddsubps.
TEXT ·rotateAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ cs+16(FP), DX
	MOVQ n+24(FP), CX
rotateloop:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMOVSLDUP Y1, Y2
	VMOVSHDUP Y1, Y3
	VPERMILPS $0xb1, Y0, Y4
	VMULPS Y2, Y0, Y0
	VMULPS Y3, Y4, Y4
	VADDSUBPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ rotateloop
	VZEROUPPER
	RET
