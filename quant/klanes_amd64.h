// Macros and tables shared by the AVX2 and AVX-512 K-quant kernels
// (klanes_amd64.s, klanes512_amd64.s); registers as described there.

// Row c: the byte pair (2c, 2c+1) in every word. vpshufb of a register of
// 16-bit scales with row c broadcasts scale c.
DATA shufK4<>+0(SB)/8, $0x0100010001000100
DATA shufK4<>+8(SB)/8, $0x0100010001000100
DATA shufK4<>+16(SB)/8, $0x0100010001000100
DATA shufK4<>+24(SB)/8, $0x0100010001000100
DATA shufK4<>+32(SB)/8, $0x0302030203020302
DATA shufK4<>+40(SB)/8, $0x0302030203020302
DATA shufK4<>+48(SB)/8, $0x0302030203020302
DATA shufK4<>+56(SB)/8, $0x0302030203020302
DATA shufK4<>+64(SB)/8, $0x0504050405040504
DATA shufK4<>+72(SB)/8, $0x0504050405040504
DATA shufK4<>+80(SB)/8, $0x0504050405040504
DATA shufK4<>+88(SB)/8, $0x0504050405040504
DATA shufK4<>+96(SB)/8, $0x0706070607060706
DATA shufK4<>+104(SB)/8, $0x0706070607060706
DATA shufK4<>+112(SB)/8, $0x0706070607060706
DATA shufK4<>+120(SB)/8, $0x0706070607060706
DATA shufK4<>+128(SB)/8, $0x0908090809080908
DATA shufK4<>+136(SB)/8, $0x0908090809080908
DATA shufK4<>+144(SB)/8, $0x0908090809080908
DATA shufK4<>+152(SB)/8, $0x0908090809080908
DATA shufK4<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK4<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK4<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK4<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA shufK4<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK4<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK4<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK4<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA shufK4<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufK4<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufK4<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA shufK4<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL shufK4<>(SB), RODATA|NOPTR, $256

// Row i: byte 2i eight times, then byte 2i+1 eight times: vpshufb of the
// 8-bit Q6_K scales with row i picks the scales of elements 32i..32i+31.
DATA shufQ6<>+0(SB)/8, $0x0000000000000000
DATA shufQ6<>+8(SB)/8, $0x0101010101010101
DATA shufQ6<>+16(SB)/8, $0x0202020202020202
DATA shufQ6<>+24(SB)/8, $0x0303030303030303
DATA shufQ6<>+32(SB)/8, $0x0404040404040404
DATA shufQ6<>+40(SB)/8, $0x0505050505050505
DATA shufQ6<>+48(SB)/8, $0x0606060606060606
DATA shufQ6<>+56(SB)/8, $0x0707070707070707
DATA shufQ6<>+64(SB)/8, $0x0808080808080808
DATA shufQ6<>+72(SB)/8, $0x0909090909090909
DATA shufQ6<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA shufQ6<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA shufQ6<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA shufQ6<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA shufQ6<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA shufQ6<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL shufQ6<>(SB), RODATA|NOPTR, $128

#define NIBBLE_MASK MOVL $0x0f0f0f0f, AX; VMOVD AX, X15; VPBROADCASTD X15, Y15

// KF16 loads the F16 at p into lane 0 of x as a float32.
#define KF16(p, x) MOVWLZX p, AX; VMOVD AX, x; VCVTPH2PS x, x

// KHSUM leaves in lane 0 of x (the low half of y) the sum of y's lanes in
// the order of ggml's hsum_float_8. Uses X11.
#define KHSUM(y, x) \
	VEXTRACTF128 $1, y, X11; VADDPS X11, x, x; \
	VMOVHLPS x, x, X11; VADDPS X11, x, x; \
	VMOVSHDUP x, X11; VADDSS X11, x, x

// K_SCALES unpacks the 12 scale bytes at 4(p) of a Q4_K/Q5_K block as
// ggml does (utmp): Y12 gets the eight 6-bit scales as words, in both
// halves; X13 the eight mins as words.
#define K_SCALES(p) \
	MOVL 4(p), R11; MOVL 8(p), R12; MOVL 12(p), R13; \
	MOVL R13, AX; SHRL $4, AX; ANDL $0x0f0f0f0f, AX; \
	MOVL R12, DX; SHRL $6, DX; ANDL $0x03030303, DX; SHLL $4, DX; ORL DX, AX; \
	MOVL R11, DX; SHRL $6, DX; ANDL $0x03030303, DX; SHLL $4, DX; \
	ANDL $0x0f0f0f0f, R13; ORL DX, R13; \
	ANDL $0x3f3f3f3f, R12; ANDL $0x3f3f3f3f, R11; \
	VMOVD R11, X12; VPINSRD $1, R13, X12, X12; VPUNPCKLQDQ X12, X12, X12; VPMOVZXBW X12, Y12; \
	VMOVD R12, X13; VPINSRD $1, AX, X13, X13; VPMOVZXBW X13, X13

// K_MINS sets X13 to the four min·bsum pair sums of the Q8_K block at y
// and X9 to dy·dmin (the Q8_K scale dy left in X14).
#define K_MINS(p, y) \
	VMOVDQU 260(y), X11; VPHADDW 276(y), X11, X11; VPMADDWD X11, X13, X13; \
	VMOVSS 0(y), X14; KF16(2(p), X9); VMULSS X9, X14, X9

// ROWS4_SETUP: SI, R8, R9, R10 point at four rows stride BX apart. The
// four-row kernels also prefetch the next four rows, one block of each per
// block of theirs (R11 or R15), as in lanes_amd64.s: four short streams
// defeat the hardware prefetcher.
#define ROWS4_SETUP \
	MOVQ w+8(FP), SI; MOVQ stride+16(FP), BX; MOVQ a+24(FP), DI; MOVQ nb+32(FP), CX; \
	LEAQ (SI)(BX*1), R8; LEAQ (SI)(BX*2), R9; LEAQ (R8)(BX*2), R10

// TOKENS4_SETUP: DI, R8, R9, R10 point at four activation rows stride BX
// apart, SI at the weight row. Each weight block is read from memory once
// and from L1 for the other three tokens.
#define TOKENS4_SETUP \
	MOVQ w+8(FP), SI; MOVQ a+16(FP), DI; MOVQ stride+24(FP), BX; MOVQ nb+32(FP), CX; \
	LEAQ (DI)(BX*1), R8; LEAQ (DI)(BX*2), R9; LEAQ (R8)(BX*2), R10

#define TADVANCE4(bb) ADDQ $bb, SI; ADDQ $292, DI; ADDQ $292, R8; ADDQ $292, R9; ADDQ $292, R10

#define ADVANCE4(bb) ADDQ $bb, SI; ADDQ $bb, R8; ADDQ $bb, R9; ADDQ $bb, R10; ADDQ $292, DI

// Q4_K's min lanes are added as (m0+m2)+(m1+m3), then to the lanes' sum.
#define MINS4_ADD(m, x) VMOVHLPS m, m, X11; VADDPS X11, m, m; VMOVSHDUP m, X11; VADDSS X11, m, m; VADDSS m, x, x

// STORE4K writes lane 0 of X0-X3 to dst.
#define STORE4K \
	MOVQ dst+0(FP), DI; VMOVSS X0, 0(DI); VMOVSS X1, 4(DI); VMOVSS X2, 8(DI); VMOVSS X3, 12(DI)
