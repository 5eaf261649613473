//go:build !purego

#include "textflag.h"
#include "klanes_amd64.h"

// AVX-512 (F, BW, VL) kernels of the K-quant lane-order dot products:
// the AVX2 algorithm of klanes_amd64.s run on two rows, two tokens or a
// row's two consecutive blocks at once, the first in the low 256 bits of
// a Z register and the second in the high 256. Every float lane sees the
// AVX2 kernel's operations in its order, so the bits are the same; the
// scales and the mins are unpacked per row with the AVX2 macros.
// Registers: Z0 and Z1 float accumulators of rows (tokens) 0,1 and 2,3
// (the one-row kernels: Y0), X4-X7 the min-correction accumulators
// (Q4_K, Q5_K), Z8 integer lanes (Z23 those of tokens 2,3), Z9-Z11
// scratch, Z12 scales, Z13 mins, then qh, X14 the Q8_K scale, Z15 0x0f in
// every byte, Z16 the first row's scales (four tokens: the mins, or
// Q6_K's scale words), Z17 the two halves' dy·d, Z18 1 in every byte
// (Q5_K), Z19 3 and Z21 32 (Q6_K), Z20 activations, Z14 and Z22 scratch,
// Z24-Z31 (Q6_K: Y24-Y31) the scale shuffles.

#define Z_NIBBLES MOVL $0x0f0f0f0f, AX; VPBROADCASTD AX, Z15

// The scale shuffles repeat in every 128 bits, as vpshufb works.
#define Z_SHUFK4 \
	VBROADCASTI32X4 shufK4<>+0(SB), Z24; VBROADCASTI32X4 shufK4<>+32(SB), Z25; \
	VBROADCASTI32X4 shufK4<>+64(SB), Z26; VBROADCASTI32X4 shufK4<>+96(SB), Z27; \
	VBROADCASTI32X4 shufK4<>+128(SB), Z28; VBROADCASTI32X4 shufK4<>+160(SB), Z29; \
	VBROADCASTI32X4 shufK4<>+192(SB), Z30; VBROADCASTI32X4 shufK4<>+224(SB), Z31

#define Z_ZERO \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; \
	VXORPS X4, X4, X4; VXORPS X5, X5, X5; VXORPS X6, X6, X6; VXORPS X7, X7, X7

// LOAD2 loads 32 bytes at off(pa) into the low half of z (y its low 256
// bits) and 32 at off(pb) into the high half.
#define LOAD2(pa, pb, off, y, z) VMOVDQU64 off(pa), y; VINSERTI64X4 $1, off(pb), z, z

// D_PAIR sets Z17 to dy·d of block pa and activations ya in the low half
// and of pb, yb in the high half (the F16 d at doff), rounded as
// K_FINISH rounds them.
#define D_PAIR(pa, pb, ya, yb, doff) \
	VMOVSS 0(ya), X14; KF16(doff(pa), X11); VMULSS X11, X14, X11; VBROADCASTSS X11, Y17; \
	VMOVSS 0(yb), X14; KF16(doff(pb), X11); VMULSS X11, X14, X11; VBROADCASTSS X11, Y11; \
	VINSERTF64X4 $1, Y11, Z17, Z17

#define Z_FINISH(acc) VCVTDQ2PS Z8, Z8; VFMADD231PS Z8, Z17, acc

// The one-row kernels take blocks 2i and 2i+1 in the halves and
// accumulate the low half's lanes, then the high half's, into Y0 (an odd
// last block: the low half only), the AVX2 kernel's order.
#define Z_FINISH2 \
	VCVTDQ2PS Z8, Z8; VFMADD231PS Y8, Y17, Y0; \
	VEXTRACTF64X4 $1, Z8, Y9; VEXTRACTF64X4 $1, Z17, Y11; VFMADD231PS Y9, Y11, Y0

#define Z_FINISH1 VCVTDQ2PS Y8, Y8; VFMADD231PS Y8, Y17, Y0

// ONE_SETUP: SI and DI point at the weight and activation rows, CX counts
// block pairs, R8 and R9 point at the pair's second blocks.
#define ONE_SETUP \
	MOVQ w+0(FP), SI; MOVQ a+8(FP), DI; MOVQ nb+16(FP), CX; \
	VXORPS Y0, Y0, Y0; VXORPS X4, X4, X4; SHRQ $1, CX

#define ONE_NEXT(bb) LEAQ bb(SI), R8; LEAQ 292(DI), R9

// ODD_TAIL jumps to done unless nb is odd.
#define ODD_TAIL MOVQ nb+16(FP), CX; TESTQ $1, CX; JZ done

// Z4_SUB is K4_SUB for two rows, scale shuffle s.
#define Z4_SUB(q, ya, yb, yoff, s) \
	LOAD2(ya, yb, yoff, Y20, Z20); VPMADDUBSW Z20, q, q; VPSHUFB s, Z12, Z11; \
	VPMADDWD Z11, q, q; VPADDD q, Z8, Z8

// Z4_NIBBLES splits the 32 quant bytes at qoff of both blocks into Z10
// (low nibbles) and Z9 (high).
#define Z4_NIBBLES(pa, pb, qoff) \
	LOAD2(pa, pb, qoff, Y9, Z9); VPANDD Z15, Z9, Z10; VPSRLW $4, Z9, Z9; VPANDD Z15, Z9, Z9

#define Z4_PAIR(pa, pb, ya, yb, qoff, yoff0, yoff1, s0, s1) \
	Z4_NIBBLES(pa, pb, qoff); Z4_SUB(Z10, ya, yb, yoff0, s0); Z4_SUB(Z9, ya, yb, yoff1, s1)

// Q4K_MINS is Q4K_BLOCK's scales and min correction of one row.
#define Q4K_MINS(p, y, accm) \
	K_SCALES(p); K_MINS(p, y); VBROADCASTSS X9, X9; VCVTDQ2PS X13, X13; VFNMADD231PS X13, X9, accm

// Q4K_LANES sets Z8 to the two blocks' integer lanes and Z17 to their
// dy·d, the scales in Z12.
#define Q4K_LANES(pa, pb, ya, yb) \
	VPXORD Z8, Z8, Z8; \
	Z4_PAIR(pa, pb, ya, yb, 16, 4, 36, Z24, Z25); Z4_PAIR(pa, pb, ya, yb, 48, 68, 100, Z26, Z27); \
	Z4_PAIR(pa, pb, ya, yb, 80, 132, 164, Z28, Z29); Z4_PAIR(pa, pb, ya, yb, 112, 196, 228, Z30, Z31); \
	D_PAIR(pa, pb, ya, yb, 0)

// The pair macros leave the lanes in Z8 and dy·d in Z17 for Z_FINISH.
#define Q4K_PAIR(pa, pb, ya, yb, ma, mb) \
	Q4K_MINS(pa, ya, ma); VMOVDQA64 Y12, Y16; Q4K_MINS(pb, yb, mb); VINSERTI64X4 $1, Y12, Z16, Z12; \
	Q4K_LANES(pa, pb, ya, yb)

// The four-token kernels unpack each weight block once for the four
// tokens: its scales and mins (Z12, in both halves, and X16; K_MINS
// consumes X13, so each token's min correction starts from X16) and each
// 32 bytes of quants, which T4_SUB multiplies by tokens 0,1 into Z8 and
// by tokens 2,3 into Z23.
#define T_SCALES K_SCALES(SI); VINSERTI64X4 $1, Y12, Z12, Z12; VMOVDQA64 X13, X16

#define T4_SUB(q, yoff, s) \
	VPSHUFB s, Z12, Z11; \
	LOAD2(DI, R8, yoff, Y20, Z20); VPMADDUBSW Z20, q, Z22; VPMADDWD Z11, Z22, Z22; VPADDD Z22, Z8, Z8; \
	LOAD2(R9, R10, yoff, Y20, Z20); VPMADDUBSW Z20, q, Z22; VPMADDWD Z11, Z22, Z22; VPADDD Z22, Z23, Z23

#define T4_NIBBLES(qoff) VBROADCASTI64X4 qoff(SI), Z9; VPANDD Z15, Z9, Z10; VPSRLW $4, Z9, Z9; VPANDD Z15, Z9, Z9

#define T4_PAIR(qoff, yoff0, yoff1, s0, s1) T4_NIBBLES(qoff); T4_SUB(Z10, yoff0, s0); T4_SUB(Z9, yoff1, s1)

// T_FINISH accumulates tokens 0,1 into Z0 and tokens 2,3 into Z1.
#define T_FINISH(doff) \
	D_PAIR(SI, SI, DI, R8, doff); Z_FINISH(Z0); VMOVDQA64 Z23, Z8; D_PAIR(SI, SI, R9, R10, doff); Z_FINISH(Z1)

#define Q4K_TMINS(y, accm) \
	VMOVDQA64 X16, X13; K_MINS(SI, y); VBROADCASTSS X9, X9; VCVTDQ2PS X13, X13; VFNMADD231PS X13, X9, accm

#define Q4K_TOKENS4 \
	T_SCALES; Q4K_TMINS(DI, X4); Q4K_TMINS(R8, X5); Q4K_TMINS(R9, X6); Q4K_TMINS(R10, X7); \
	VPXORD Z8, Z8, Z8; VPXORD Z23, Z23, Z23; \
	T4_PAIR(16, 4, 36, Z24, Z25); T4_PAIR(48, 68, 100, Z26, Z27); \
	T4_PAIR(80, 132, 164, Z28, Z29); T4_PAIR(112, 196, 228, Z30, Z31); \
	T_FINISH(0)

// Q5_K: Q5K_BLOCK's min correction of one row, then the pair's quants
// with the fifth bit from qh (Z13).
#define Q5K_MINS(p, y, accm) \
	K_SCALES(p); K_MINS(p, y); \
	VPHADDD X13, X13, X13; VPHADDD X13, X13, X13; VCVTDQ2PS X13, X13; VFNMADD231SS X13, X9, accm

#define Z5_HIGH(q, b) VPSRLW $b, Z13, Z11; VPANDD Z18, Z11, Z11; VPSLLW $4, Z11, Z11; VPORD Z11, q, q

#define Z5_PAIR(pa, pb, ya, yb, qoff, yoff0, yoff1, s0, s1, b0, b1) \
	Z4_NIBBLES(pa, pb, qoff); Z5_HIGH(Z10, b0); Z5_HIGH(Z9, b1); \
	Z4_SUB(Z10, ya, yb, yoff0, s0); Z4_SUB(Z9, ya, yb, yoff1, s1)

#define Q5K_LANES(pa, pb, ya, yb) \
	LOAD2(pa, pb, 16, Y13, Z13); VPXORD Z8, Z8, Z8; \
	Z5_PAIR(pa, pb, ya, yb, 48, 4, 36, Z24, Z25, 0, 1); Z5_PAIR(pa, pb, ya, yb, 80, 68, 100, Z26, Z27, 2, 3); \
	Z5_PAIR(pa, pb, ya, yb, 112, 132, 164, Z28, Z29, 4, 5); Z5_PAIR(pa, pb, ya, yb, 144, 196, 228, Z30, Z31, 6, 7); \
	D_PAIR(pa, pb, ya, yb, 0)

#define Q5K_PAIR(pa, pb, ya, yb, ma, mb) \
	Q5K_MINS(pa, ya, ma); VMOVDQA64 Y12, Y16; Q5K_MINS(pb, yb, mb); VINSERTI64X4 $1, Y12, Z16, Z12; \
	Q5K_LANES(pa, pb, ya, yb)

#define Q5K_TMINS(y, accm) \
	VMOVDQA64 X16, X13; K_MINS(SI, y); \
	VPHADDD X13, X13, X13; VPHADDD X13, X13, X13; VCVTDQ2PS X13, X13; VFNMADD231SS X13, X9, accm

#define T5_PAIR(qoff, yoff0, yoff1, s0, s1, b0, b1) \
	T4_NIBBLES(qoff); Z5_HIGH(Z10, b0); Z5_HIGH(Z9, b1); T4_SUB(Z10, yoff0, s0); T4_SUB(Z9, yoff1, s1)

#define Q5K_TOKENS4 \
	T_SCALES; Q5K_TMINS(DI, X4); Q5K_TMINS(R8, X5); Q5K_TMINS(R9, X6); Q5K_TMINS(R10, X7); \
	VBROADCASTI64X4 16(SI), Z13; VPXORD Z8, Z8, Z8; VPXORD Z23, Z23, Z23; \
	T5_PAIR(48, 4, 36, Z24, Z25, 0, 1); T5_PAIR(80, 68, 100, Z26, Z27, 2, 3); \
	T5_PAIR(112, 132, 164, Z28, Z29, 4, 5); T5_PAIR(144, 196, 228, Z30, Z31, 6, 7); \
	T_FINISH(0)

#define Z5_CONSTS Z_NIBBLES; Z_SHUFK4; MOVL $0x01010101, AX; VPBROADCASTD AX, Z18

// Q6_K: Q6_SUB for two rows. Y12 holds the first row's 16 scale bytes,
// then the second's, so a shuffle row of Y24-Y31 (repeated in both 128
// bits) widens to the first row's scale words, then the second's.
#define Z6_SUB(bits, ns, hs, ya, yb, yoff, s) \
	VPSRLW $ns, bits, Z11; VPANDD Z15, Z11, Z11; \
	VPSRLW $hs, Z13, Z22; VPANDD Z19, Z22, Z22; VPSLLW $4, Z22, Z22; VPORD Z22, Z11, Z11; \
	LOAD2(ya, yb, yoff, Y20, Z20); VPMADDUBSW Z20, Z11, Z11; VPMADDUBSW Z20, Z21, Z22; VPSUBW Z22, Z11, Z11; \
	VPSHUFB s, Y12, Y22; VPMOVSXBW Y22, Z22; \
	VPMADDWD Z22, Z11, Z11; VPADDD Z11, Z8, Z8

#define Z6_HALF(pa, pb, ya, yb, ql, qh, y0, y1, y2, y3, s0, s1, s2, s3) \
	LOAD2(pa, pb, ql, Y9, Z9); LOAD2(pa, pb, ql+32, Y10, Z10); LOAD2(pa, pb, qh, Y13, Z13); \
	Z6_SUB(Z9, 0, 0, ya, yb, y0, s0); Z6_SUB(Z10, 0, 2, ya, yb, y1, s1); \
	Z6_SUB(Z9, 4, 4, ya, yb, y2, s2); Z6_SUB(Z10, 4, 6, ya, yb, y3, s3)

#define Q6K_PAIR(pa, pb, ya, yb) \
	VMOVDQU 192(pa), X12; VINSERTI128 $1, 192(pb), Y12, Y12; VPXORD Z8, Z8, Z8; \
	Z6_HALF(pa, pb, ya, yb, 0, 128, 4, 36, 68, 100, Y24, Y25, Y26, Y27); \
	Z6_HALF(pa, pb, ya, yb, 64, 160, 132, 164, 196, 228, Y28, Y29, Y30, Y31); \
	D_PAIR(pa, pb, ya, yb, 208)

// Q6_K's four-token form: T6_SUB unpacks a sub-block's quants (Z11) and
// scale words (Z16) once and T6_TOKENS multiplies them by two tokens.
#define T6_TOKENS(ya, yb, yoff, acc) \
	LOAD2(ya, yb, yoff, Y20, Z20); VPMADDUBSW Z20, Z11, Z22; VPMADDUBSW Z20, Z21, Z14; VPSUBW Z14, Z22, Z22; \
	VPMADDWD Z16, Z22, Z22; VPADDD Z22, acc, acc

#define T6_SUB(bits, ns, hs, yoff, s) \
	VPSRLW $ns, bits, Z11; VPANDD Z15, Z11, Z11; \
	VPSRLW $hs, Z13, Z22; VPANDD Z19, Z22, Z22; VPSLLW $4, Z22, Z22; VPORD Z22, Z11, Z11; \
	VPSHUFB s, Y12, Y16; VPMOVSXBW Y16, Z16; \
	T6_TOKENS(DI, R8, yoff, Z8); T6_TOKENS(R9, R10, yoff, Z23)

#define T6_HALF(ql, qh, y0, y1, y2, y3, s0, s1, s2, s3) \
	VBROADCASTI64X4 ql(SI), Z9; VBROADCASTI64X4 ql+32(SI), Z10; VBROADCASTI64X4 qh(SI), Z13; \
	T6_SUB(Z9, 0, 0, y0, s0); T6_SUB(Z10, 0, 2, y1, s1); T6_SUB(Z9, 4, 4, y2, s2); T6_SUB(Z10, 4, 6, y3, s3)

#define Q6K_TOKENS4 \
	VBROADCASTI32X4 192(SI), Y12; VPXORD Z8, Z8, Z8; VPXORD Z23, Z23, Z23; \
	T6_HALF(0, 128, 4, 36, 68, 100, Y24, Y25, Y26, Y27); \
	T6_HALF(64, 160, 132, 164, 196, 228, Y28, Y29, Y30, Y31); \
	T_FINISH(208)

#define Z6_CONSTS \
	Z_NIBBLES; \
	MOVL $0x03030303, AX; VPBROADCASTD AX, Z19; MOVL $0x20202020, AX; VPBROADCASTD AX, Z21; \
	VBROADCASTI32X4 shufQ6<>+0(SB), Y24; VBROADCASTI32X4 shufQ6<>+16(SB), Y25; \
	VBROADCASTI32X4 shufQ6<>+32(SB), Y26; VBROADCASTI32X4 shufQ6<>+48(SB), Y27; \
	VBROADCASTI32X4 shufQ6<>+64(SB), Y28; VBROADCASTI32X4 shufQ6<>+80(SB), Y29; \
	VBROADCASTI32X4 shufQ6<>+96(SB), Y30; VBROADCASTI32X4 shufQ6<>+112(SB), Y31

// SPLIT4 moves the four rows' (tokens') lanes to Y0-Y3.
#define SPLIT4 VEXTRACTF64X4 $1, Z1, Y3; VMOVAPS Y1, Y2; VEXTRACTF64X4 $1, Z0, Y1

#define KHSUM4 KHSUM(Y0, X0); KHSUM(Y1, X1); KHSUM(Y2, X2); KHSUM(Y3, X3)

// The four-row kernels prefetch the next four rows as the AVX2 ones do,
// R15 running one block of each ahead per block.
#define AHEAD4_Q4K \
	PREFETCHT0 0(R15); PREFETCHT0 64(R15); PREFETCHT0 128(R15); PREFETCHT0 192(R15); PREFETCHT0 256(R15); \
	PREFETCHT0 320(R15); PREFETCHT0 384(R15); PREFETCHT0 448(R15); PREFETCHT0 512(R15); ADDQ $576, R15

#define AHEAD4_Q5K \
	PREFETCHT0 0(R15); PREFETCHT0 64(R15); PREFETCHT0 128(R15); PREFETCHT0 192(R15); PREFETCHT0 256(R15); \
	PREFETCHT0 320(R15); PREFETCHT0 384(R15); PREFETCHT0 448(R15); PREFETCHT0 512(R15); \
	PREFETCHT0 576(R15); PREFETCHT0 640(R15); ADDQ $704, R15

#define AHEAD4_Q6K \
	PREFETCHT0 0(R15); PREFETCHT0 64(R15); PREFETCHT0 128(R15); PREFETCHT0 192(R15); PREFETCHT0 256(R15); \
	PREFETCHT0 320(R15); PREFETCHT0 384(R15); PREFETCHT0 448(R15); PREFETCHT0 512(R15); \
	PREFETCHT0 576(R15); PREFETCHT0 640(R15); PREFETCHT0 704(R15); PREFETCHT0 768(R15); \
	PREFETCHT0 832(R15); ADDQ $840, R15

// func dotQ4_KRows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ4_KRows4AVX512(SB), NOSPLIT, $0-40
	ROWS4_SETUP
	Z_NIBBLES
	Z_SHUFK4
	Z_ZERO
	LEAQ (R9)(BX*2), R15 // R15 is free: no globals after this

loop:
	AHEAD4_Q4K
	Q4K_PAIR(SI, R8, DI, DI, X4, X5); Z_FINISH(Z0)
	Q4K_PAIR(R9, R10, DI, DI, X6, X7); Z_FINISH(Z1)
	ADVANCE4(144)
	DECQ CX
	JNZ loop
	SPLIT4
	KHSUM4
	MINS4_ADD(X4, X0); MINS4_ADD(X5, X1); MINS4_ADD(X6, X2); MINS4_ADD(X7, X3)
	STORE4K
	VZEROUPPER
	RET

// func dotQ4_KTokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ4_KTokens4AVX512(SB), NOSPLIT, $0-40
	TOKENS4_SETUP
	Z_NIBBLES
	Z_SHUFK4
	Z_ZERO

loop:
	Q4K_TOKENS4
	TADVANCE4(144)
	DECQ CX
	JNZ loop
	SPLIT4
	KHSUM4
	MINS4_ADD(X4, X0); MINS4_ADD(X5, X1); MINS4_ADD(X6, X2); MINS4_ADD(X7, X3)
	STORE4K
	VZEROUPPER
	RET

// func dotQ5_KRows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ5_KRows4AVX512(SB), NOSPLIT, $0-40
	ROWS4_SETUP
	Z5_CONSTS
	Z_ZERO
	LEAQ (R9)(BX*2), R15 // R15 is free: no globals after this

loop:
	AHEAD4_Q5K
	Q5K_PAIR(SI, R8, DI, DI, X4, X5); Z_FINISH(Z0)
	Q5K_PAIR(R9, R10, DI, DI, X6, X7); Z_FINISH(Z1)
	ADVANCE4(176)
	DECQ CX
	JNZ loop
	SPLIT4
	KHSUM4
	VADDSS X4, X0, X0; VADDSS X5, X1, X1; VADDSS X6, X2, X2; VADDSS X7, X3, X3
	STORE4K
	VZEROUPPER
	RET

// func dotQ5_KTokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ5_KTokens4AVX512(SB), NOSPLIT, $0-40
	TOKENS4_SETUP
	Z5_CONSTS
	Z_ZERO

loop:
	Q5K_TOKENS4
	TADVANCE4(176)
	DECQ CX
	JNZ loop
	SPLIT4
	KHSUM4
	VADDSS X4, X0, X0; VADDSS X5, X1, X1; VADDSS X6, X2, X2; VADDSS X7, X3, X3
	STORE4K
	VZEROUPPER
	RET

// func dotQ6_KRows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)
TEXT ·dotQ6_KRows4AVX512(SB), NOSPLIT, $0-40
	ROWS4_SETUP
	Z6_CONSTS
	Z_ZERO
	LEAQ (R9)(BX*2), R15 // R15 is free: no globals after this

loop:
	AHEAD4_Q6K
	Q6K_PAIR(SI, R8, DI, DI); Z_FINISH(Z0)
	Q6K_PAIR(R9, R10, DI, DI); Z_FINISH(Z1)
	ADVANCE4(210)
	DECQ CX
	JNZ loop
	SPLIT4
	KHSUM4
	STORE4K
	VZEROUPPER
	RET

// func dotQ6_KTokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)
TEXT ·dotQ6_KTokens4AVX512(SB), NOSPLIT, $0-40
	TOKENS4_SETUP
	Z6_CONSTS
	Z_ZERO

loop:
	Q6K_TOKENS4
	TADVANCE4(210)
	DECQ CX
	JNZ loop
	SPLIT4
	KHSUM4
	STORE4K
	VZEROUPPER
	RET

// func dotQ4_KAVX512(w, a *byte, nb int) float32
TEXT ·dotQ4_KAVX512(SB), NOSPLIT, $0-28
	Z_NIBBLES
	Z_SHUFK4
	ONE_SETUP
	JZ tail

loop:
	ONE_NEXT(144)
	Q4K_PAIR(SI, R8, DI, R9, X4, X4); Z_FINISH2
	ADDQ $288, SI
	ADDQ $584, DI
	DECQ CX
	JNZ loop

tail:
	ODD_TAIL
	Q4K_MINS(SI, DI, X4); Q4K_LANES(SI, SI, DI, DI); Z_FINISH1

done:
	KHSUM(Y0, X0)
	MINS4_ADD(X4, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ5_KAVX512(w, a *byte, nb int) float32
TEXT ·dotQ5_KAVX512(SB), NOSPLIT, $0-28
	Z5_CONSTS
	ONE_SETUP
	JZ tail

loop:
	ONE_NEXT(176)
	Q5K_PAIR(SI, R8, DI, R9, X4, X4); Z_FINISH2
	ADDQ $352, SI
	ADDQ $584, DI
	DECQ CX
	JNZ loop

tail:
	ODD_TAIL
	Q5K_MINS(SI, DI, X4); Q5K_LANES(SI, SI, DI, DI); Z_FINISH1

done:
	KHSUM(Y0, X0)
	VADDSS X4, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotQ6_KAVX512(w, a *byte, nb int) float32
TEXT ·dotQ6_KAVX512(SB), NOSPLIT, $0-28
	Z6_CONSTS
	ONE_SETUP
	JZ tail

loop:
	ONE_NEXT(210)
	Q6K_PAIR(SI, R8, DI, R9); Z_FINISH2
	ADDQ $420, SI
	ADDQ $584, DI
	DECQ CX
	JNZ loop

tail:
	ODD_TAIL
	Q6K_PAIR(SI, SI, DI, DI); Z_FINISH1

done:
	KHSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
