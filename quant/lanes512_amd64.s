//go:build !purego

#include "textflag.h"

// AVX-512 (F, BW, VL, VNNI) kernels of the lane-order dot products. The
// four-row and four-token kernels run the AVX2 algorithm on two rows (or
// tokens) at once, one in each 256-bit half of a Z register, and split
// the halves only for the final sums, so every float lane sees the same
// operations in the same order as lanes_amd64.s. The integer lane sums
// come from vpdpbusd (unsigned × signed bytes, four to a dword) with an
// offset that keeps them exact for quants of -128:
//   Q8_0 weights: Σ w·a = Σ (w+128)·a - 128·Σ a, with w+128 = w XOR 0x80;
//   Q4_0 rows: Σ (q-8)·a = Σ q·a - 8·Σ a, q the unsigned nibble;
//   Q4_0 tokens: Σ (q-8)·a = Σ (q-8)·(a+128) - 128·Σ (q-8).
// The correction belongs to the operand shared by the four dot products
// and is computed once per block.
//
// Registers: Z0, Z1 accumulators (rows or tokens 0|1, 2|3), Z4 the shared
// block's signed bytes, Z5 its negated correction, Z12 its scale, Z14 the
// offset bytes, Z9, Z13 and Z15 the Q4_0 unpacking constants, K1 the
// high-half mask.

// HIGH_MASK sets K1 to the high eight words of a Y register, which are
// also the high eight dwords of a Z register.
#define HIGH_MASK MOVL $0xff00, AX; KMOVW AX, K1

// BYTES sets z (whose low half is y) to the byte b in every byte.
#define BYTES(b, z, y) MOVL b, AX; VMOVD AX, y; VPBROADCASTD y, z

// Z15 = 0x0f bytes, Z13 = 0x08 bytes; Z9 = dword shifts 0,0,0,0,4,4,4,4 in each half, which
// put the low nibbles of a block in the low 128 bits of a half and the
// high nibbles in the high 128.
#define Q4_CONSTS512 \
	BYTES($0x0f0f0f0f, Z15, X15); BYTES($0x08080808, Z13, X13); \
	MOVL $4, AX; VMOVD AX, X8; VPBROADCASTD X8, X8; VPXORD X9, X9, X9; \
	VINSERTI128 $1, X8, Y9, Y9; VINSERTI64X4 $1, Y9, Z9, Z9

// SCALES2 sets every lane of Z6's half h to d_h·(Z12), d_h the F16 scale
// of the block at p (low half) or q (high half): exact in float32.
#define SCALES2(p, q) \
	VPBROADCASTW (p), Y6; VPBROADCASTW (q), K1, Y6; VCVTPH2PS Y6, Z6; VMULPS Z12, Z6, Z6

// NEG_OFFSET sets Z5 to minus the offset (Z14) times the lane sums of the
// signed bytes in Z4.
#define NEG_OFFSET VPXORD Z5, Z5, Z5; VPDPBUSD Z4, Z14, Z5; VPXORD Z6, Z6, Z6; VPSUBD Z5, Z6, Z5

// ACT sets Z4 to the Q8_0 activation block at p in both halves, Z5 by
// NEG_OFFSET and Z12 to its scale.
#define ACT(p) VBROADCASTI64X4 2(p), Z4; NEG_OFFSET; VPBROADCASTW (p), Y12; VCVTPH2PS Y12, Z12

// ACCUM adds the lane sums in Z8 times the scales of the blocks at p and q
// to acc.
#define ACCUM(p, q, acc) VCVTDQ2PS Z8, Z8; SCALES2(p, q); VFMADD231PS Z8, Z6, acc

// OFFSET_PAIR accumulates the Q8_0 blocks at p and q times the signed
// quants of Z4, with Z14 = 0x80 and Z5 from NEG_OFFSET.
#define OFFSET_PAIR(p, q, acc) \
	VMOVDQU 2(p), Y7; VINSERTI64X4 $1, 2(q), Z7, Z7; VPXORD Z14, Z7, Z7; \
	VMOVDQA64 Z5, Z8; VPDPBUSD Z4, Z7, Z8; ACCUM(p, q, acc)

// Q4_PAIR accumulates the Q4_0 blocks at p and q times the activation of
// ACT, with Z14 = 0x08.
#define Q4_PAIR(p, q, acc) \
	VBROADCASTI32X4 2(p), Z7; VBROADCASTI32X4 2(q), K1, Z7; \
	VPSRLVD Z9, Z7, Z7; VPANDD Z15, Z7, Z7; \
	VMOVDQA64 Z5, Z8; VPDPBUSD Z4, Z7, Z8; ACCUM(p, q, acc)

// HSUM leaves in lane 0 of x (the low half of y) the sum of the lanes of
// y in the order of ggml's hsum_float_8. Uses X11.
#define HSUM(y, x) \
	VEXTRACTF128 $1, y, X11; VADDPS X11, x, x; \
	VMOVHLPS x, x, X11; VADDPS X11, x, x; \
	VMOVSHDUP x, X11; VADDSS X11, x, x

// STORE_PAIRS writes the sums of the four halves of Z0 and Z1 to the four
// floats at DI, rows 0|1 in Z0 and 2|3 in Z1.
#define STORE_PAIRS \
	VEXTRACTF64X4 $1, Z0, Y2; VEXTRACTF64X4 $1, Z1, Y3; \
	HSUM(Y0, X0); HSUM(Y2, X2); HSUM(Y1, X1); HSUM(Y3, X3); \
	VMOVSS X0, 0(DI); VMOVSS X2, 4(DI); VMOVSS X1, 8(DI); VMOVSS X3, 12(DI)

// ROWS4_ARGS loads the four-row arguments: rows at SI, R8, R9, R10, the
// next four rows (prefetched) at R11, the activation at DI, nb in CX.
#define ROWS4_ARGS \
	MOVQ w+8(FP), SI; MOVQ stride+16(FP), BX; MOVQ a+24(FP), DI; MOVQ nb+32(FP), CX; \
	LEAQ (SI)(BX*1), R8; LEAQ (SI)(BX*2), R9; LEAQ (R8)(BX*2), R10; LEAQ (R9)(BX*2), R11

// func dotQ8_0Q8_0Rows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ8_0Q8_0Rows4AVX512(SB), NOSPLIT, $0-40
	ROWS4_ARGS
	HIGH_MASK
	BYTES($0x80808080, Z14, X14)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

loop:
	PREFETCHT0 (R11)
	PREFETCHT0 64(R11)
	PREFETCHT0 128(R11)
	ACT(DI)
	OFFSET_PAIR(SI, R8, Z0)
	OFFSET_PAIR(R9, R10, Z1)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R9
	ADDQ $34, R10
	ADDQ $136, R11
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), DI
	STORE_PAIRS
	VZEROUPPER
	RET

// func dotQ4_0Q8_0Rows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ4_0Q8_0Rows4AVX512(SB), NOSPLIT, $0-40
	ROWS4_ARGS
	HIGH_MASK
	Q4_CONSTS512
	VMOVDQA64 Z13, Z14
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

loop:
	PREFETCHT0 (R11)
	PREFETCHT0 36(R11)
	ACT(DI)
	Q4_PAIR(SI, R8, Z0)
	Q4_PAIR(R9, R10, Z1)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $72, R11
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), DI
	STORE_PAIRS
	VZEROUPPER
	RET

// func dotQ4_0Q8_0Tokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)
//
// The Q4_0 quants q-8 are the signed operand, the activations offset by
// 128 the unsigned one, so the correction is the weight's, once per block.
TEXT ·dotQ4_0Q8_0Tokens4AVX512(SB), NOSPLIT, $0-40
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	MOVQ stride+24(FP), BX
	MOVQ nb+32(FP), CX
	LEAQ (DI)(BX*1), R8
	LEAQ (DI)(BX*2), R9
	LEAQ (R8)(BX*2), R10
	HIGH_MASK
	Q4_CONSTS512
	BYTES($0x80808080, Z14, X14)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

loop:
	VPBROADCASTW (SI), Y12
	VCVTPH2PS Y12, Z12
	VBROADCASTI32X4 2(SI), Z4
	VPSRLVD Z9, Z4, Z4
	VPANDD Z15, Z4, Z4
	VPSUBB Z13, Z4, Z4
	NEG_OFFSET
	OFFSET_PAIR(DI, R8, Z0)
	OFFSET_PAIR(R9, R10, Z1)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $34, R8
	ADDQ $34, R9
	ADDQ $34, R10
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), DI
	STORE_PAIRS
	VZEROUPPER
	RET

// The one-row kernels keep one block per step (the float order allows no
// other) and take only vpdpbusd from AVX-512, on Y registers: Y4 the
// activation bytes, Y5 its offset (Y14) times its lane sums, Y8 the lane
// sums, Y12 the activation scale, Y6 the block's d_w·d_a.

// ONE_ACT loads the activation block at DI into Y4, Y5 and Y12.
#define ONE_ACT \
	VMOVDQU 2(DI), Y4; VPXORD Y5, Y5, Y5; VPDPBUSD Y4, Y14, Y5; \
	VPBROADCASTW (DI), X12; VCVTPH2PS X12, Y12

// ONE_ACCUM adds Y8 minus Y5, times the scales of the blocks at SI and DI,
// to Y0.
#define ONE_ACCUM \
	VPSUBD Y5, Y8, Y8; VCVTDQ2PS Y8, Y8; \
	VPBROADCASTW (SI), X6; VCVTPH2PS X6, Y6; VMULPS Y12, Y6, Y6; \
	VFMADD231PS Y8, Y6, Y0


// func dotQ8_0Q8_0AVX512(w, a *byte, nb int) float32
TEXT ·dotQ8_0Q8_0AVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	BYTES($0x80808080, Y14, X14)

loop:
	ONE_ACT
	VMOVDQU 2(SI), Y7
	VPXORD Y14, Y7, Y7
	VPXORD Y8, Y8, Y8
	VPDPBUSD Y4, Y7, Y8
	ONE_ACCUM
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	HSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ4_0Q8_0AVX512(w, a *byte, nb int) float32
TEXT ·dotQ4_0Q8_0AVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	Q4_CONSTS512
	VMOVDQA64 Y13, Y14

loop:
	ONE_ACT
	VBROADCASTI128 2(SI), Y7
	VPSRLVD Y9, Y7, Y7
	VPAND Y15, Y7, Y7
	VPXORD Y8, Y8, Y8
	VPDPBUSD Y4, Y7, Y8
	ONE_ACCUM
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	HSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// ROUND_AWAY512 is lanes_amd64.s's ROUND_AWAY on 16 floats: truncate, then
// step away from zero where the dropped fraction is >= 0.5 (K2).
// Z13 = 1.0, Z14 = 0.5, Z15 = the magnitude mask.
#define ROUND_AWAY512(v) \
	VRNDSCALEPS $3, v, Z6; VSUBPS Z6, v, Z7; VPANDD Z15, Z7, Z7; \
	VCMPPS $0x0d, Z14, Z7, K2; VPANDND v, Z15, Z8; VPORD Z13, Z8, Z8; \
	VADDPS Z8, Z6, K2, Z6; VCVTTPS2DQ Z6, v

// ROUND_EVEN512 converts with halves to even, as ggml's AVX2 code does.
#define ROUND_EVEN512(v) VRNDSCALEPS $0, v, v; VCVTTPS2DQ v, v

// func quantizeQ8_0AVX512(x *float32, dst *byte, nb int, evenHalves bool)
//
// quantizeQ8_0AVX2 with a block in two Z registers; vpmovsdb saturates to
// bytes as its two packs do, and keeps the quants in order (to a register:
// its memory form is several times slower on Zen 5).
TEXT ·quantizeQ8_0AVX512(SB), NOSPLIT, $0-25
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVBLZX evenHalves+24(FP), R8
	BYTES($0x7fffffff, Z15, X15)
	BYTES($0x3f000000, Z14, X14) // 0.5
	BYTES($0x3f800000, Z13, X13) // 1.0
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X11
	MOVL $0x7f800000, AX // +Inf
	VMOVD AX, X10

loop:
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z1
	VPANDD Z15, Z0, Z4
	VPANDD Z15, Z1, Z5
	VMAXPS Z5, Z4, Z4
	VEXTRACTF64X4 $1, Z4, Y5
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
	VBROADCASTSS X5, Z5
	VMULPS Z5, Z0, Z0
	VMULPS Z5, Z1, Z1
	TESTQ R8, R8
	JNZ even
	ROUND_AWAY512(Z0)
	ROUND_AWAY512(Z1)
	JMP pack

even:
	ROUND_EVEN512(Z0)
	ROUND_EVEN512(Z1)

pack:
	VPMOVSDB Z0, X0
	VPMOVSDB Z1, X1
	VINSERTI128 $1, X1, Y0, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET
