//go:build !purego

#include "textflag.h"
#include "klanes_amd64.h"

// AVX2 kernels of the K-quant lane-order dot products (klanes.go) and of
// the F16 and BF16 dots in ggml's orders (halflanes.go). A super-block's
// integer lanes (Y8) are exact; vpmaddubsw takes the unsigned weight
// quants and the signed activations, as in ggml, and cannot saturate for
// quants below 64. Registers: Y0-Y3 float accumulators (one per row or
// token), X4-X7 min-correction accumulators (Q4_K, Q5_K; Q6_K's constants
// instead), Y8 integer lanes, Y9-Y11 scratch, Y12 scales, Y13 mins, then
// qh, Y14 the Q8_K scale or scratch, Y15 0x0f in every byte. AX, DX and
// R11-R13 unpack the scales.

// K_FINISH accumulates the integer lanes times dy·d (F16 d at p) into acc.
#define K_FINISH(p, acc) \
	KF16(p, X11); VMULSS X11, X14, X11; VBROADCASTSS X11, Y11; \
	VCVTDQ2PS Y8, Y8; VFMADD231PS Y8, Y11, acc

// K4_SUB adds the lanes of one 32-element sub-block, quants in the low
// nibbles of q (which it clobbers), activations at yoff(y), scale row s.
#define K4_SUB(q, y, yoff, s) \
	VPMADDUBSW yoff(y), q, q; VPSHUFB shufK4<>+s(SB), Y12, Y11; \
	VPMADDWD Y11, q, q; VPADDD q, Y8, Y8

// Q4_K: 32 bytes at qoff(p) hold two sub-blocks, low then high nibbles.
#define K4_PAIR(p, y, qoff, yoff0, yoff1, s0, s1) \
	VMOVDQU qoff(p), Y9; VPAND Y15, Y9, Y10; VPSRLW $4, Y9, Y9; VPAND Y15, Y9, Y9; \
	K4_SUB(Y10, y, yoff0, s0); K4_SUB(Y9, y, yoff1, s1)

#define Q4K_BLOCK(p, y, acc, accm) \
	K_SCALES(p); K_MINS(p, y); VBROADCASTSS X9, X9; VCVTDQ2PS X13, X13; VFNMADD231PS X13, X9, accm; \
	VPXOR Y8, Y8, Y8; \
	K4_PAIR(p, y, 16, 4, 36, 0, 32); K4_PAIR(p, y, 48, 68, 100, 64, 96); \
	K4_PAIR(p, y, 80, 132, 164, 128, 160); K4_PAIR(p, y, 112, 196, 228, 192, 224); \
	K_FINISH(0(p), acc)

// Q5_K: as Q4_K, plus bit b of each qh byte (Y13) as the quant's bit 4.
#define K5_HIGH(q, b) \
	VPSRLW $b, Y13, Y11; VPAND Y14, Y11, Y11; VPSLLW $4, Y11, Y11; VPOR Y11, q, q

#define K5_PAIR(p, y, qoff, yoff0, yoff1, s0, s1, b0, b1) \
	VMOVDQU qoff(p), Y9; VPAND Y15, Y9, Y10; VPSRLW $4, Y9, Y9; VPAND Y15, Y9, Y9; \
	K5_HIGH(Y10, b0); K5_HIGH(Y9, b1); \
	K4_SUB(Y10, y, yoff0, s0); K4_SUB(Y9, y, yoff1, s1)

// The mins are summed in integers and accumulated with one scalar FMA.
// Y14 holds 1 in every byte during the sub-blocks, then dy again.
#define Q5K_BLOCK(p, y, accm) \
	K_SCALES(p); K_MINS(p, y); \
	VPHADDD X13, X13, X13; VPHADDD X13, X13, X13; VCVTDQ2PS X13, X13; VFNMADD231SS X13, X9, accm; \
	VMOVDQU 16(p), Y13; VPXOR Y8, Y8, Y8; \
	MOVL $0x01010101, AX; VMOVD AX, X14; VPBROADCASTD X14, Y14; \
	K5_PAIR(p, y, 48, 4, 36, 0, 32, 0, 1); K5_PAIR(p, y, 80, 68, 100, 64, 96, 2, 3); \
	K5_PAIR(p, y, 112, 132, 164, 128, 160, 4, 5); K5_PAIR(p, y, 144, 196, 228, 192, 224, 6, 7); \
	VMOVSS 0(y), X14

// Q6_K: constants Y4 = 3 and Y5 = 32 in every byte. Q6_SUB adds one
// sub-block of 32: low four bits from bits (Y9 or Y10) >> ns, high two
// from qh (Y13) >> hs; (q - 32)·y as q·y - 32·y, exact in 16 bits.
#define Q6_SUB(bits, ns, hs, y, yoff, s) \
	VPSRLW $ns, bits, Y11; VPAND Y15, Y11, Y11; \
	VPSRLW $hs, Y13, Y14; VPAND Y4, Y14, Y14; VPSLLW $4, Y14, Y14; VPOR Y14, Y11, Y11; \
	VPMADDUBSW yoff(y), Y11, Y11; VPMADDUBSW yoff(y), Y5, Y14; VPSUBW Y14, Y11, Y11; \
	VPSHUFB shufQ6<>+s(SB), X12, X14; VPMOVSXBW X14, Y14; \
	VPMADDWD Y14, Y11, Y11; VPADDD Y11, Y8, Y8

#define Q6_HALF(p, y, ql, qh, y0, y1, y2, y3, s0, s1, s2, s3) \
	VMOVDQU ql(p), Y9; VMOVDQU ql+32(p), Y10; VMOVDQU qh(p), Y13; \
	Q6_SUB(Y9, 0, 0, y, y0, s0); Q6_SUB(Y10, 0, 2, y, y1, s1); \
	Q6_SUB(Y9, 4, 4, y, y2, s2); Q6_SUB(Y10, 4, 6, y, y3, s3)

#define Q6K_BLOCK(p, y, acc) \
	VMOVDQU 192(p), X12; VPXOR Y8, Y8, Y8; \
	Q6_HALF(p, y, 0, 128, 4, 36, 68, 100, 0, 16, 32, 48); \
	Q6_HALF(p, y, 64, 160, 132, 164, 196, 228, 64, 80, 96, 112); \
	VMOVSS 0(y), X14; K_FINISH(208(p), acc)

#define Q6_CONSTS \
	NIBBLE_MASK; \
	MOVL $0x03030303, AX; VMOVD AX, X4; VPBROADCASTD X4, Y4; \
	MOVL $0x20202020, AX; VMOVD AX, X5; VPBROADCASTD X5, Y5

#define ZERO8 \
	VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7


// func dotQ4_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	NIBBLE_MASK
	ZERO8

loop:
	Q4K_BLOCK(SI, DI, Y0, X4)
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0)
	MINS4_ADD(X4, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ4_KRows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ4_KRows4AVX2(SB), NOSPLIT, $0-40
	ROWS4_SETUP
	NIBBLE_MASK
	ZERO8
	LEAQ (R9)(BX*2), R15 // R15 is free: these kernels touch no globals

loop:
	PREFETCHT0 0(R15)
	PREFETCHT0 64(R15)
	PREFETCHT0 128(R15)
	PREFETCHT0 192(R15)
	PREFETCHT0 256(R15)
	PREFETCHT0 320(R15)
	PREFETCHT0 384(R15)
	PREFETCHT0 448(R15)
	PREFETCHT0 512(R15)
	ADDQ $576, R15
	Q4K_BLOCK(SI, DI, Y0, X4)
	Q4K_BLOCK(R8, DI, Y1, X5)
	Q4K_BLOCK(R9, DI, Y2, X6)
	Q4K_BLOCK(R10, DI, Y3, X7)
	ADVANCE4(144)
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)
	MINS4_ADD(X4, X0); MINS4_ADD(X5, X1); MINS4_ADD(X6, X2); MINS4_ADD(X7, X3)
	STORE4K
	VZEROUPPER
	RET

// func dotQ5_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ5_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	NIBBLE_MASK
	ZERO8

loop:
	Q5K_BLOCK(SI, DI, X4)
	K_FINISH(0(SI), Y0)
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0)
	VADDSS X4, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ5_KRows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ5_KRows4AVX2(SB), NOSPLIT, $0-40
	ROWS4_SETUP
	NIBBLE_MASK
	ZERO8
	LEAQ (R9)(BX*2), R15 // R15 is free: these kernels touch no globals

loop:
	PREFETCHT0 0(R15)
	PREFETCHT0 64(R15)
	PREFETCHT0 128(R15)
	PREFETCHT0 192(R15)
	PREFETCHT0 256(R15)
	PREFETCHT0 320(R15)
	PREFETCHT0 384(R15)
	PREFETCHT0 448(R15)
	PREFETCHT0 512(R15)
	PREFETCHT0 576(R15)
	PREFETCHT0 640(R15)
	ADDQ $704, R15
	Q5K_BLOCK(SI, DI, X4)
	K_FINISH(0(SI), Y0)
	Q5K_BLOCK(R8, DI, X5)
	K_FINISH(0(R8), Y1)
	Q5K_BLOCK(R9, DI, X6)
	K_FINISH(0(R9), Y2)
	Q5K_BLOCK(R10, DI, X7)
	K_FINISH(0(R10), Y3)
	ADVANCE4(176)
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)
	VADDSS X4, X0, X0; VADDSS X5, X1, X1; VADDSS X6, X2, X2; VADDSS X7, X3, X3
	STORE4K
	VZEROUPPER
	RET

// func dotQ6_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q6_CONSTS
	VXORPS Y0, Y0, Y0

loop:
	Q6K_BLOCK(SI, DI, Y0)
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ6_KRows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ6_KRows4AVX2(SB), NOSPLIT, $0-40
	ROWS4_SETUP
	Q6_CONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	LEAQ (R9)(BX*2), R11

loop:
	PREFETCHT0 0(R11)
	PREFETCHT0 64(R11)
	PREFETCHT0 128(R11)
	PREFETCHT0 192(R11)
	PREFETCHT0 256(R11)
	PREFETCHT0 320(R11)
	PREFETCHT0 384(R11)
	PREFETCHT0 448(R11)
	PREFETCHT0 512(R11)
	PREFETCHT0 576(R11)
	PREFETCHT0 640(R11)
	PREFETCHT0 704(R11)
	PREFETCHT0 768(R11)
	PREFETCHT0 832(R11)
	Q6K_BLOCK(SI, DI, Y0)
	Q6K_BLOCK(R8, DI, Y1)
	Q6K_BLOCK(R9, DI, Y2)
	Q6K_BLOCK(R10, DI, Y3)
	ADDQ $840, R11
	ADVANCE4(210)
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)
	STORE4K
	VZEROUPPER
	RET

// func dotQ4_KTokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ4_KTokens4AVX2(SB), NOSPLIT, $0-40
	TOKENS4_SETUP
	NIBBLE_MASK
	ZERO8

loop:
	Q4K_BLOCK(SI, DI, Y0, X4)
	Q4K_BLOCK(SI, R8, Y1, X5)
	Q4K_BLOCK(SI, R9, Y2, X6)
	Q4K_BLOCK(SI, R10, Y3, X7)
	TADVANCE4(144)
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)
	MINS4_ADD(X4, X0); MINS4_ADD(X5, X1); MINS4_ADD(X6, X2); MINS4_ADD(X7, X3)
	STORE4K
	VZEROUPPER
	RET

// func dotQ5_KTokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ5_KTokens4AVX2(SB), NOSPLIT, $0-40
	TOKENS4_SETUP
	NIBBLE_MASK
	ZERO8

loop:
	Q5K_BLOCK(SI, DI, X4)
	K_FINISH(0(SI), Y0)
	Q5K_BLOCK(SI, R8, X5)
	K_FINISH(0(SI), Y1)
	Q5K_BLOCK(SI, R9, X6)
	K_FINISH(0(SI), Y2)
	Q5K_BLOCK(SI, R10, X7)
	K_FINISH(0(SI), Y3)
	TADVANCE4(176)
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)
	VADDSS X4, X0, X0; VADDSS X5, X1, X1; VADDSS X6, X2, X2; VADDSS X7, X3, X3
	STORE4K
	VZEROUPPER
	RET

// func dotQ6_KTokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ6_KTokens4AVX2(SB), NOSPLIT, $0-40
	TOKENS4_SETUP
	Q6_CONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	Q6K_BLOCK(SI, DI, Y0)
	Q6K_BLOCK(SI, R8, Y1)
	Q6K_BLOCK(SI, R9, Y2)
	Q6K_BLOCK(SI, R10, Y3)
	TADVANCE4(210)
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)
	STORE4K
	VZEROUPPER
	RET

// Half-float dots: HALF8 loads 8 F16 or BF16 weights at p as floats into y.
#define F16_8(p, y) VCVTPH2PS p, y
#define BF16_8(p, y) VPMOVZXWD p, y; VPSLLD $16, y, y

// ggml_vec_dot_f16: four FMA accumulators over steps of 32, reduced as
// (a0+a2)+(a1+a3), then the halves and two horizontal adds.
// func f16VecAVX2(w *byte, x *float32, steps int) float32
TEXT ·f16VecAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ steps+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	F16_8(0(SI), Y4)
	F16_8(16(SI), Y5)
	F16_8(32(SI), Y6)
	F16_8(48(SI), Y7)
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// ggml_vec_dot_bf16: the same accumulators with a multiply, then an add;
// the sum reduced as hsum_float_8.
// func bf16VecAVX2(w *byte, x *float32, steps int) float32
TEXT ·bf16VecAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ steps+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	BF16_8(0(SI), Y4)
	BF16_8(16(SI), Y5)
	BF16_8(32(SI), Y6)
	BF16_8(48(SI), Y7)
	VMULPS 0(DI), Y4, Y4
	VMULPS 32(DI), Y5, Y5
	VMULPS 64(DI), Y6, Y6
	VMULPS 96(DI), Y7, Y7
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	KHSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// tinyBLAS: one FMA accumulator over steps of 8, then hsum.

// func f16TinyAVX2(w *byte, x *float32, steps int) float32
TEXT ·f16TinyAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ steps+16(FP), CX
	VXORPS Y0, Y0, Y0

loop:
	F16_8(0(SI), Y4)
	VFMADD231PS 0(DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func bf16TinyAVX2(w *byte, x *float32, steps int) float32
TEXT ·bf16TinyAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ steps+16(FP), CX
	VXORPS Y0, Y0, Y0

loop:
	BF16_8(0(SI), Y4)
	VFMADD231PS 0(DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop
	KHSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
