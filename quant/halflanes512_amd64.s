//go:build !purego

#include "textflag.h"

// AVX-512 forms of the vec half dots of klanes_amd64.s: Z0 holds the
// accumulators a0|a1 and Z1 a2|a3 of the AVX2 kernels, each 256-bit half
// taking the same elements in the same order, so Z0+Z1 is a0+a2|a1+a3 and
// adding its halves gives (a0+a2)+(a1+a3), as the AVX2 reduction does.

// func f16VecAVX512(w *byte, x *float32, steps int) float32
TEXT ·f16VecAVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ steps+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

loop:
	VCVTPH2PS 0(SI), Z4
	VCVTPH2PS 32(SI), Z5
	VFMADD231PS 0(DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop
	VADDPS Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func bf16VecAVX512(w *byte, x *float32, steps int) float32
TEXT ·bf16VecAVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ steps+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

loop:
	VPMOVZXWD 0(SI), Z4
	VPMOVZXWD 32(SI), Z5
	VPSLLD $16, Z4, Z4
	VPSLLD $16, Z5, Z5
	VMULPS 0(DI), Z4, Z4
	VMULPS 64(DI), Z5, Z5
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop
	VADDPS Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0

	// hsum_float_8, as KHSUM.
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
