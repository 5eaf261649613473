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
