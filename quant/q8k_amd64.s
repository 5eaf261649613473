//go:build !purego

#include "textflag.h"

// QUARTER rounds the exact products of the four floats at off(SI) with the
// float64 scale in Y15 to int32 (vcvtpd2dq rounds halves to even under
// Go's default MXCSR): products of two float32s are exact in float64.
#define QUARTER(off, x) VCVTPS2PD off(SI), Y0; VMULPD Y15, Y0, Y0; VCVTPD2DQY Y0, x

// func roundExactProductsAVX2(x *float32, qs *byte, iscale float32, n int)
TEXT ·roundExactProductsAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ qs+8(FP), DI
	VMOVSS iscale+16(FP), X15
	VCVTSS2SD X15, X15, X15
	VBROADCASTSD X15, Y15
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	MOVL $0x007f007f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, X14 // 127 in every word

loop:
	QUARTER(0, X1)
	QUARTER(16, X2)
	QUARTER(32, X3)
	QUARTER(48, X4)
	VPACKSSDW X2, X1, X1
	VPACKSSDW X4, X3, X3
	VPMINSW X14, X1, X1
	VPMINSW X14, X3, X3
	VPACKSSWB X3, X1, X1
	VMOVDQU X1, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET
