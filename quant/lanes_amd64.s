//go:build !purego

#include "textflag.h"

// AVX2 kernels of the lane-order dot products (see lanes.go) and of the
// Q8_0 activation quantiser. Lane l of a block holds the integer sum of
// its elements 4l..4l+3, as in ggml's mul_sum_i8_pairs_float.
//
// The four-row kernels prefetch the four rows after theirs (R11), one
// block of each per block of theirs: the hardware prefetcher does not
// follow four short interleaved streams well, and a mat-vec reads rows in
// groups of four from start to end, so this turns the matrix into one
// stream read ahead (about 3x the bandwidth from a mapped file).
//
// Registers: Y0-Y3 accumulators, Y12 the F16 scale shared by the four dot
// products (in every lane), Y9 and Y13-Y15 constants, AX and Y6-Y8 scratch.

// Y15 = 0x0f in every byte, Y14 = 8 in every byte, Y13 = 1 in every word,
// Y9 = 0 in the low four dwords and 4 in the high four.
#define Q4_CONSTS \
	MOVL $0x0f0f0f0f, AX; VMOVD AX, X15; VPBROADCASTD X15, Y15; \
	MOVL $0x08080808, AX; VMOVD AX, X14; VPBROADCASTD X14, Y14; \
	MOVL $0x00010001, AX; VMOVD AX, X13; VPBROADCASTD X13, Y13; \
	MOVL $4, AX; VMOVD AX, X8; VPBROADCASTD X8, X8; VPXOR X9, X9, X9; VINSERTI128 $1, X8, Y9, Y9


// F16ALL sets every lane of y (whose low half is x) to the F16 at p.
#define F16ALL(p, y, x) VPBROADCASTW p, x; VCVTPH2PS x, y

// SCALE sets Y6 to (F16 at p)·Y12 in every lane: d_w·d_a, exact in float32.
#define SCALE(p) F16ALL(p, Y6, X6); VMULPS Y12, Y6, Y6

// NIBBLES sets y to the 32 quants of the Q4_0 block at p, unsigned 0..15:
// low nibbles in the low half, high nibbles in the high half.
#define NIBBLES(p, y) VBROADCASTI128 2(p), y; VPSRLVD Y9, y, y; VPAND Y15, y, y

// Q4_0 quants q-8 are multiplied as q·a - 8·a: vpmaddubsw needs one
// unsigned operand, and unlike ggml's sign trick this is exact for a = -128.

// Q8_ACT loads the Q8_0 activation block at p for Q4_0 weights: the quants
// in Y4, their pair sums times 8 in Y5, the scale in Y12.
#define Q8_ACT(p) VMOVDQU 2(p), Y4; VPMADDUBSW Y4, Y14, Y5; F16ALL((p), Y12, X12)

// Q4_ROW accumulates the Q4_0 block at p times the activation of Q8_ACT.
#define Q4_ROW(p, acc) \
	SCALE((p)); NIBBLES(p, Y7); \
	VPMADDUBSW Y4, Y7, Y7; VPSUBW Y5, Y7, Y7; VPMADDWD Y13, Y7, Y7; \
	VCVTDQ2PS Y7, Y7; VFMADD231PS Y7, Y6, acc

// Q4_TOKEN accumulates the activation block at p times the Q4_0 block
// unpacked into Y4 (scale in Y12).
#define Q4_TOKEN(p, acc) \
	SCALE((p)); VMOVDQU 2(p), Y7; \
	VPMADDUBSW Y7, Y4, Y8; VPMADDUBSW Y7, Y14, Y7; VPSUBW Y7, Y8, Y8; VPMADDWD Y13, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; VFMADD231PS Y8, Y6, acc

// Q8_0·Q8_0 sign-extends to words (exact for -128, unlike ggml's sign
// trick), multiplies and adds pairs with vpmaddwd, then vphaddd adds
// pairs of pairs into lanes ordered 0,1,4,5 | 2,3,6,7. The accumulators
// keep that order until UNPERMUTE restores 0..7 before the final sum.

// Q8_WORDS loads the Q8_0 block at p as words into Y4 (quants 0-15) and
// Y5 (16-31), its scale into Y12.
#define Q8_WORDS(p) VPMOVSXBW 2(p), Y4; VPMOVSXBW 18(p), Y5; F16ALL((p), Y12, X12)

// Q8_ROW accumulates the Q8_0 block at p times the block of Q8_WORDS.
#define Q8_ROW(p, acc) \
	SCALE((p)); VPMOVSXBW 2(p), Y7; VPMOVSXBW 18(p), Y8; \
	VPMADDWD Y4, Y7, Y7; VPMADDWD Y5, Y8, Y8; VPHADDD Y8, Y7, Y7; \
	VCVTDQ2PS Y7, Y7; VFMADD231PS Y7, Y6, acc

#define UNPERMUTE(acc) VPERMQ $0xd8, acc, acc

// HSUM leaves in lane 0 of x (the low half of y) the sum of the lanes of
// y in the order of ggml's hsum_float_8. Uses X11.
#define HSUM(y, x) \
	VEXTRACTF128 $1, y, X11; VADDPS X11, x, x; \
	VMOVHLPS x, x, X11; VADDPS X11, x, x; \
	VMOVSHDUP x, X11; VADDSS X11, x, x

// STORE4 writes the sums of Y0-Y3 to the four floats at DI.
#define STORE4 \
	HSUM(Y0, X0); HSUM(Y1, X1); HSUM(Y2, X2); HSUM(Y3, X3); \
	VMOVSS X0, 0(DI); VMOVSS X1, 4(DI); VMOVSS X2, 8(DI); VMOVSS X3, 12(DI)

#define ZERO4 VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3

// func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q4_CONSTS
	VXORPS Y0, Y0, Y0

loop:
	Q8_ACT(DI)
	Q4_ROW(SI, Y0)
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	HSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ4_0Q8_0Rows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ4_0Q8_0Rows4AVX2(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), BX
	MOVQ a+24(FP), DI
	MOVQ nb+32(FP), CX
	LEAQ (SI)(BX*1), R8
	LEAQ (SI)(BX*2), R9
	LEAQ (R8)(BX*2), R10
	LEAQ (R9)(BX*2), R11
	Q4_CONSTS
	ZERO4

loop:
	PREFETCHT0 (R11)
	PREFETCHT0 36(R11)
	Q8_ACT(DI)
	Q4_ROW(SI, Y0)
	Q4_ROW(R8, Y1)
	Q4_ROW(R9, Y2)
	Q4_ROW(R10, Y3)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $72, R11
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), DI
	STORE4
	VZEROUPPER
	RET

// func dotQ4_0Q8_0Tokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ4_0Q8_0Tokens4AVX2(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ stride+24(FP), BX
	MOVQ nb+32(FP), CX
	LEAQ (DI)(BX*1), R8
	LEAQ (DI)(BX*2), R9
	LEAQ (R8)(BX*2), R10
	Q4_CONSTS
	ZERO4

loop:
	F16ALL((SI), Y12, X12)
	NIBBLES(SI, Y4)
	Q4_TOKEN(DI, Y0)
	Q4_TOKEN(R8, Y1)
	Q4_TOKEN(R9, Y2)
	Q4_TOKEN(R10, Y3)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $34, R8
	ADDQ $34, R9
	ADDQ $34, R10
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), DI
	STORE4
	VZEROUPPER
	RET

// func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ8_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0

loop:
	Q8_WORDS(DI)
	Q8_ROW(SI, Y0)
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	UNPERMUTE(Y0)
	HSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ8_0Q8_0Rows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ8_0Q8_0Rows4AVX2(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), BX
	MOVQ a+24(FP), DI
	MOVQ nb+32(FP), CX
	LEAQ (SI)(BX*1), R8
	LEAQ (SI)(BX*2), R9
	LEAQ (R8)(BX*2), R10
	LEAQ (R9)(BX*2), R11
	ZERO4

loop:
	PREFETCHT0 (R11)
	PREFETCHT0 64(R11)
	PREFETCHT0 128(R11)
	Q8_WORDS(DI)
	Q8_ROW(SI, Y0)
	Q8_ROW(R8, Y1)
	Q8_ROW(R9, Y2)
	Q8_ROW(R10, Y3)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R9
	ADDQ $34, R10
	ADDQ $136, R11
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	UNPERMUTE(Y0)
	UNPERMUTE(Y1)
	UNPERMUTE(Y2)
	UNPERMUTE(Y3)
	MOVQ dst+0(FP), DI
	STORE4
	VZEROUPPER
	RET

// ROUND_AWAY converts the 8 floats of v to int32 rounding halves away
// from zero, like the reference's math.Round: truncate, then step away
// from zero where the dropped fraction is >= 0.5 (x - trunc(x) is exact).
// Y13 = 1.0, Y14 = 0.5, Y15 = the magnitude mask.
#define ROUND_AWAY(v) \
	VROUNDPS $3, v, Y6; VSUBPS Y6, v, Y7; VANDPS Y15, Y7, Y7; \
	VCMPPS $0x0d, Y14, Y7, Y7; VANDNPS v, Y15, Y8; VORPS Y13, Y8, Y8; VANDPS Y7, Y8, Y8; \
	VADDPS Y8, Y6, v; VCVTTPS2DQ v, v

// ROUND_EVEN converts with halves to even, as ggml's AVX2 code does.
#define ROUND_EVEN(v) VROUNDPS $0, v, v; VCVTTPS2DQ v, v

// func quantizeQ8_0AVX2(x *float32, dst *byte, nb int, evenHalves bool)
TEXT ·quantizeQ8_0AVX2(SB), NOSPLIT, $0-25
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVBLZX evenHalves+24(FP), R8
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x3f000000, AX // 0.5
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x3f800000, AX // 1.0
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X11
	MOVL $0x7f800000, AX // +Inf
	VMOVD AX, X10
	// The packs below leave the dwords of quants in the order 0,2,4,6,1,3,5,7.
	MOVQ $0x0703060205010400, AX
	VMOVQ AX, X12
	VPMOVZXBD X12, Y12

loop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y2, Y5
	VMAXPS Y5, Y4, Y4
	VANDPS Y15, Y3, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS X5, X4, X9 // amax
	VDIVSS X11, X9, X4 // d = amax/127
	VCVTPS2PH $0, X4, X5
	VMOVD X5, AX
	MOVW AX, 0(DI)
	TESTQ R8, R8
	JNZ ggmlid
	VDIVSS X4, X13, X5 // id = 1/d
	JMP haveid

ggmlid:
	VDIVSS X9, X11, X5 // id = 127/amax

haveid:
	// id = 0 where it is +Inf (amax 0 or tiny), as the reference.
	VCMPSS $1, X10, X5, X6
	VANDPS X6, X5, X5
	VBROADCASTSS X5, Y5
	VMULPS Y5, Y0, Y0
	VMULPS Y5, Y1, Y1
	VMULPS Y5, Y2, Y2
	VMULPS Y5, Y3, Y3
	TESTQ R8, R8
	JNZ even
	ROUND_AWAY(Y0)
	ROUND_AWAY(Y1)
	ROUND_AWAY(Y2)
	ROUND_AWAY(Y3)
	JMP pack

even:
	ROUND_EVEN(Y0)
	ROUND_EVEN(Y1)
	ROUND_EVEN(Y2)
	ROUND_EVEN(Y3)

pack:
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y12, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET
