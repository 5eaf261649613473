//go:build !purego

#include "textflag.h"

// AVX-512 bodies of the kernels (kernels512_amd64.go says which). The
// dots keep the AVX2 accumulators a0|a1 in Z0 and a2|a3 in Z1, each half
// taking the same elements in the same order, so Z0+Z1 = a0+a2|a1+a3 and
// the sum of its halves is the AVX2 REDUCE4's first step. Element-wise
// kernels take 16 lanes a step and one 8-lane step for a tail of 8.

// REDUCE4Z sets X0 to GGML_F32x8_REDUCE of the four accumulators in Z0, Z1.
#define REDUCE4Z \
	VADDPS Z1, Z0, Z0; VEXTRACTF64X4 $1, Z0, Y1; VADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; VHADDPS X0, X0, X0

// func dotAVX512(x, y *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1
dotloop:
	VMOVUPS (SI), Z4; VFMADD231PS (DI), Z4, Z0
	VMOVUPS 64(SI), Z5; VFMADD231PS 64(DI), Z5, Z1
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ dotloop
	REDUCE4Z
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotF16AVX512(x *float32, y *uint16, n int) float32
TEXT ·dotF16AVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1
dotf16loop:
	VCVTPH2PS (DI), Z4; VFMADD231PS (SI), Z4, Z0
	VCVTPH2PS 32(DI), Z5; VFMADD231PS 64(SI), Z5, Z1
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ dotf16loop
	REDUCE4Z
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX512(a float32, x, y *float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Z15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
axpyloop:
	CMPQ CX, $16
	JB axpytail
	VMOVUPS (DI), Z0; VFMADD231PS (SI), Z15, Z0; VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ axpyloop
	VZEROUPPER
	RET
axpytail:
	VMOVUPS (DI), Y0; VFMADD231PS (SI), Y15, Y0; VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func axpyF16AVX512(a float32, x *uint16, y *float32, n int)
TEXT ·axpyF16AVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Z15
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
axpyf16loop:
	CMPQ CX, $16
	JB axpyf16tail
	VCVTPH2PS (SI), Z1
	VMOVUPS (DI), Z0; VFMADD231PS Z1, Z15, Z0; VMOVUPS Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ axpyf16loop
	VZEROUPPER
	RET
axpyf16tail:
	VCVTPH2PS (SI), Y1
	VMOVUPS (DI), Y0; VFMADD231PS Y1, Y15, Y0; VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func scaleAVX512(dst, x *float32, n int, a float32)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z15
scaleloop:
	CMPQ CX, $16
	JB scaletail
	VMULPS (SI), Z15, Z0; VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ scaleloop
	VZEROUPPER
	RET
scaletail:
	VMULPS (SI), Y15, Y0; VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func mulAVX512(dst, x, y *float32, n int)
TEXT ·mulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
mulloop:
	CMPQ CX, $16
	JB multail
	VMOVUPS (SI), Z0; VMULPS (DX), Z0, Z0; VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ mulloop
	VZEROUPPER
	RET
multail:
	VMOVUPS (SI), Y0; VMULPS (DX), Y0, Y0; VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func addAVX512(dst, x, y *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
addloop:
	CMPQ CX, $16
	JB addtail
	VMOVUPS (SI), Z0; VADDPS (DX), Z0, Z0; VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ addloop
	VZEROUPPER
	RET
addtail:
	VMOVUPS (SI), Y0; VADDPS (DX), Y0, Y0; VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func sumSqAVX512(x *float32, n int) float64
// Z0 holds the float64 sums of elements 0-7 and Z1 of 8-15 of each step
// of 16: the AVX2 Y0|Y1 and Y2|Y3, so Z0+Z1 = Y0+Y2|Y1+Y3 as it adds them.
TEXT ·sumSqAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORQ Z0, Z0, Z0; VPXORQ Z1, Z1, Z1
sumsqloop:
	VMOVUPS (SI), Z4; VMULPS Z4, Z4, Z4
	VCVTPS2PD Y4, Z6; VADDPD Z6, Z0, Z0
	VEXTRACTF64X4 $1, Z4, Y4; VCVTPS2PD Y4, Z6; VADDPD Z6, Z1, Z1
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ sumsqloop
	VADDPD Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1; VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1; VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
// As maxAVX2 (NaN elements skipped) over 16 lanes, folded to 8 first:
// only the sign of a zero maximum can depend on the lanes.
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS negInf512<>(SB), Z0
maxloop:
	CMPQ CX, $16
	JB maxtail
	VMOVUPS (SI), Z1; VMAXPS Z0, Z1, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ maxloop
	JMP maxfold
maxtail:
	VMOVUPS (SI), Y1; VMAXPS Y0, Y1, Y1
	VINSERTF64X4 $0, Y1, Z0, Z0
maxfold:
	VEXTRACTF64X4 $1, Z0, Y1; VMAXPS Y0, Y1, Y0
	VEXTRACTF128 $1, Y0, X1; VMAXPS X0, X1, X0
	VMOVHLPS X0, X0, X1; VMAXPS X0, X1, X0
	VMOVSHDUP X0, X1; VMAXSS X0, X1, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

DATA negInf512<>+0(SB)/4, $0xff800000
GLOBL negInf512<>(SB), RODATA|NOPTR, $4

// func rotateAVX512(dst, x, cs *float32, n int)
// As rotateAVX2, but with no EVEX vaddsubps the swapped products' signs
// are flipped in even lanes and added: x - y is x + (-y) in IEEE 754.
TEXT ·rotateAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ cs+16(FP), DX
	MOVQ n+24(FP), CX
	MOVL $0x80000000, AX
	MOVQ AX, X5
	VPBROADCASTQ X5, Z5
rotateloop:
	CMPQ CX, $16
	JB rotatetail
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VMOVSLDUP Z1, Z2
	VMOVSHDUP Z1, Z3
	VPERMILPS $0xb1, Z0, Z4
	VMULPS Z2, Z0, Z0
	VMULPS Z3, Z4, Z4
	VPXORD Z5, Z4, Z4
	VADDPS Z4, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ rotateloop
	VZEROUPPER
	RET
rotatetail:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMOVSLDUP Y1, Y2
	VMOVSHDUP Y1, Y3
	VPERMILPS $0xb1, Y0, Y4
	VMULPS Y2, Y0, Y0
	VMULPS Y3, Y4, Y4
	VADDSUBPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// The constants of EXP8 (kernels_amd64.s), one lane each, broadcast.
DATA expz<>+0(SB)/4, $0x4b400000  // 0x1.8p23
DATA expz<>+4(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expz<>+8(SB)/4, $0x3f317200  // ln 2, high part
DATA expz<>+12(SB)/4, $0x35bfbe8e // ln 2, low part
DATA expz<>+16(SB)/4, $0x3c072010 // polynomial, b^5
DATA expz<>+20(SB)/4, $0x3d2b9f17 // b^4
DATA expz<>+24(SB)/4, $0x3e2aaf33 // b^3
DATA expz<>+28(SB)/4, $0x3efffedb // b^2
DATA expz<>+32(SB)/4, $0x3f7ffff6 // b
DATA expz<>+36(SB)/4, $0x3f800000 // 1.0
DATA expz<>+40(SB)/4, $0x42fc0000 // 126.0
DATA expz<>+44(SB)/4, $0x43400000 // 192.0
DATA expz<>+48(SB)/4, $0x7fffffff // |x| mask
DATA expz<>+52(SB)/4, $0x82000000 // scale split for n <= 0
DATA expz<>+56(SB)/4, $0x7f000000 // 2^127
GLOBL expz<>(SB), RODATA|NOPTR, $60

#define ZSHIFT expz<>+0(SB)
#define ZLOG2E expz<>+4(SB)
#define ZLN2HI expz<>+8(SB)
#define ZLN2LO expz<>+12(SB)
#define ZP0 expz<>+16(SB)
#define ZP1 expz<>+20(SB)
#define ZP2 expz<>+24(SB)
#define ZP3 expz<>+28(SB)
#define ZP4 expz<>+32(SB)
#define ZONE expz<>+36(SB)
#define ZC126 expz<>+40(SB)
#define ZC192 expz<>+44(SB)
#define ZABS expz<>+48(SB)
#define ZGNEG expz<>+52(SB)
#define ZS1 expz<>+56(SB)

// EXP16 is EXP8 on Z0, instruction for instruction, the blends' masks in
// K1 (|n| > 126), K2 (|n| > 192) and K3 (n <= 0) for lack of EVEX vblendvps.
#define EXP16 \
	VBROADCASTSS ZSHIFT, Z1; VFMADD231PS.BCST ZLOG2E, Z0, Z1; \
	VSUBPS.BCST ZSHIFT, Z1, Z2; \
	VMOVAPS Z0, Z3; VFNMADD231PS.BCST ZLN2HI, Z2, Z3; VFNMADD231PS.BCST ZLN2LO, Z2, Z3; \
	VPSLLD $23, Z1, Z4; VPADDD.BCST ZONE, Z4, Z5; \
	VPANDD.BCST ZABS, Z2, Z6; VCMPPS.BCST $0x1e, ZC126, Z6, K1; \
	VPANDD.BCST ZABS, Z2, Z1; VCMPPS.BCST $0x1e, ZC192, Z1, K2; \
	VMULPS Z3, Z3, Z7; \
	VBROADCASTSS ZP0, Z8; VFMADD213PS.BCST ZP1, Z3, Z8; \
	VBROADCASTSS ZP2, Z9; VFMADD213PS.BCST ZP3, Z3, Z9; \
	VFMADD213PS Z9, Z7, Z8; \
	VMULPS.BCST ZP4, Z3, Z9; VFMADD213PS Z9, Z7, Z8; \
	VMOVAPS Z8, Z10; VFMADD213PS Z5, Z5, Z10; \
	VPXORD Z3, Z3, Z3; VCMPPS $0x12, Z3, Z2, K3; VBROADCASTSS.Z ZGNEG, K3, Z7; \
	VPADDD.BCST ZS1, Z7, Z9; VPSUBD Z7, Z4, Z4; \
	VFMADD213PS Z4, Z8, Z4; VMULPS Z9, Z4, Z4; \
	VMULPS Z9, Z9, Z9; \
	VBLENDMPS Z4, Z10, K1, Z10; \
	VBLENDMPS Z9, Z10, K2, Z0

// HSUM8ADD adds to X14, in float64, the sum of Y0's lanes in hsum8's order.
#define HSUM8ADD \
	VEXTRACTF128 $1, Y0, X1; VADDPS X0, X1, X1; \
	VMOVHLPS X1, X1, X2; VADDPS X2, X1, X1; \
	VMOVSHDUP X1, X2; VADDSS X2, X1, X1; \
	VCVTSS2SD X1, X1, X1; VADDSD X1, X14, X14

// func expSumAVX512(dst, x *float32, n int, sub float32) float64
// Each step's low 8 lanes are summed before its high 8, as the AVX2 steps.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS sub+24(FP), Z15
	VXORPD X14, X14, X14
expsumloop:
	CMPQ CX, $16
	JB expsumtail
	VMOVUPS (SI), Z0; VSUBPS Z15, Z0, Z0
	EXP16
	VMOVUPS Z0, (DI)
	VEXTRACTF64X4 $1, Z0, Y11
	HSUM8ADD
	VMOVAPS Y11, Y0
	HSUM8ADD
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ expsumloop
	JMP expsumdone
expsumtail:
	VMOVUPS (SI), Y0; VSUBPS Y15, Y0, Y0
	EXP16
	VMOVUPS Y0, (DI)
	HSUM8ADD
expsumdone:
	VMOVSD X14, ret+32(FP)
	VZEROUPPER
	RET

// SILU16 sets Z0 to Z11 / (1 + exp(-Z11)) * Z12, as siluMulAVX2's steps.
#define SILU16 \
	VPXORD Z0, Z0, Z0; VSUBPS Z11, Z0, Z0; \
	EXP16; \
	VADDPS.BCST ZONE, Z0, Z0; \
	VDIVPS Z0, Z11, Z0; \
	VMULPS Z12, Z0, Z0

// func siluMulAVX512(dst, gate, up *float32, n int)
// A tail of 8 runs in the low lanes; the high ones, zeroed by the VEX
// loads, are computed and dropped.
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
silumulloop:
	CMPQ CX, $16
	JB silumultail
	VMOVUPS (SI), Z11
	VMOVUPS (DX), Z12
	SILU16
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ silumulloop
	VZEROUPPER
	RET
silumultail:
	VMOVUPS (SI), Y11
	VMOVUPS (DX), Y12
	SILU16
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET
