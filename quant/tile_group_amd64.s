//go:build !purego

#include "textflag.h"
#include "tile_amd64.h"

// The group kernels: two tiles (16 rows, on 512-bit registers as
// tilePairVNNI) times a group of 1 to 8 tokens in one pass, so a
// verification step of k+1 ≤ 8 tokens unpacks each block's quants once
// for all of them where tilePairVNNI's four tokens and tile1VNNI's one
// unpack it twice for five. The group's activations are interleaved by
// PrepareTileGroup, 40 bytes a token and block (32 quants, −8·Σq, the
// scale), so one register addresses every token at a constant offset.
// Each (row, token) keeps tile1VNNI's accumulator order: the same bits.
// Registers: SI the tiles' block, R15 the second tile's offset, R8 the
// group's block, CX the blocks left; Z0-Z7 the tokens' float sums,
// Z16-Z23 their integer sums, Z8-Z11 unpacked quants, Z13 the rows'
// scales, Z12 a temporary, Z15 0x0f in every byte.

#define GROUP_ARGS \
	MOVL $0x0f0f0f0f, DX; VMOVD DX, X15; VPBROADCASTD X15, Z15; \
	MOVQ tile+8(FP), SI; MOVQ stride+16(FP), R15; MOVQ group+24(FP), R8; MOVQ nb+32(FP), CX

// GINIT starts token t's integer sums at −8·Σq, which the Q4_0 offset
// of 8 owes.
#define GINIT(t, i) VPBROADCASTD t*40+32(R8), i

// GDOTA and GDOTB add token t's products with chunks 0-1 and 2-3.
#define GDOTA(t, i) \
	VPDPBUSD.BCST t*40(R8), Z8, i; VPDPBUSD.BCST t*40+16(R8), Z9, i; \
	VPDPBUSD.BCST t*40+4(R8), Z10, i; VPDPBUSD.BCST t*40+20(R8), Z11, i
#define GDOTB(t, i) \
	VPDPBUSD.BCST t*40+8(R8), Z8, i; VPDPBUSD.BCST t*40+24(R8), Z9, i; \
	VPDPBUSD.BCST t*40+12(R8), Z10, i; VPDPBUSD.BCST t*40+28(R8), Z11, i

// GFIN adds token t's block, isum·(d_w·d_a), to its float sums.
#define GFIN(t, i, acc) VCVTDQ2PS i, i; VMULPS.BCST t*40+36(R8), Z13, Z12; VFMADD231PS Z12, i, acc

#define GSCALES VCVTPH2PS (SI), Y13; VCVTPH2PS (SI)(R15*1), Y12; VINSERTF32X8 $1, Y12, Z13, Z13

// func tileGroup1VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup1VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16)
	GSCALES
	GFIN(0, Z16, Z0)
	ADDQ $144, SI
	ADDQ $40, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX)
	VZEROUPPER
	RET

// func tileGroup2VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup2VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1)
	ADDQ $144, SI
	ADDQ $80, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX)
	VZEROUPPER
	RET

// func tileGroup3VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup3VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17); GINIT(2, Z18)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17); GDOTA(2, Z18)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17); GDOTB(2, Z18)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1); GFIN(2, Z18, Z2)
	ADDQ $144, SI
	ADDQ $120, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX); VMOVUPS Z2, 128(CX)
	VZEROUPPER
	RET

// func tileGroup4VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup4VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17); GINIT(2, Z18); GINIT(3, Z19)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17); GDOTA(2, Z18); GDOTA(3, Z19)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17); GDOTB(2, Z18); GDOTB(3, Z19)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1); GFIN(2, Z18, Z2); GFIN(3, Z19, Z3)
	ADDQ $144, SI
	ADDQ $160, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX); VMOVUPS Z2, 128(CX); VMOVUPS Z3, 192(CX)
	VZEROUPPER
	RET

// func tileGroup5VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup5VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; VPXORD Z4, Z4, Z4

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17); GINIT(2, Z18); GINIT(3, Z19); GINIT(4, Z20)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17); GDOTA(2, Z18); GDOTA(3, Z19); GDOTA(4, Z20)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17); GDOTB(2, Z18); GDOTB(3, Z19); GDOTB(4, Z20)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1); GFIN(2, Z18, Z2); GFIN(3, Z19, Z3); GFIN(4, Z20, Z4)
	ADDQ $144, SI
	ADDQ $200, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX); VMOVUPS Z2, 128(CX); VMOVUPS Z3, 192(CX); VMOVUPS Z4, 256(CX)
	VZEROUPPER
	RET

// func tileGroup6VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup6VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17); GINIT(2, Z18); GINIT(3, Z19); GINIT(4, Z20); GINIT(5, Z21)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17); GDOTA(2, Z18); GDOTA(3, Z19); GDOTA(4, Z20); GDOTA(5, Z21)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17); GDOTB(2, Z18); GDOTB(3, Z19); GDOTB(4, Z20); GDOTB(5, Z21)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1); GFIN(2, Z18, Z2); GFIN(3, Z19, Z3); GFIN(4, Z20, Z4); GFIN(5, Z21, Z5)
	ADDQ $144, SI
	ADDQ $240, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX); VMOVUPS Z2, 128(CX); VMOVUPS Z3, 192(CX); VMOVUPS Z4, 256(CX); VMOVUPS Z5, 320(CX)
	VZEROUPPER
	RET

// func tileGroup7VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup7VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17); GINIT(2, Z18); GINIT(3, Z19); GINIT(4, Z20); GINIT(5, Z21); GINIT(6, Z22)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17); GDOTA(2, Z18); GDOTA(3, Z19); GDOTA(4, Z20); GDOTA(5, Z21); GDOTA(6, Z22)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17); GDOTB(2, Z18); GDOTB(3, Z19); GDOTB(4, Z20); GDOTB(5, Z21); GDOTB(6, Z22)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1); GFIN(2, Z18, Z2); GFIN(3, Z19, Z3); GFIN(4, Z20, Z4); GFIN(5, Z21, Z5); GFIN(6, Z22, Z6)
	ADDQ $144, SI
	ADDQ $280, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX); VMOVUPS Z2, 128(CX); VMOVUPS Z3, 192(CX); VMOVUPS Z4, 256(CX); VMOVUPS Z5, 320(CX); VMOVUPS Z6, 384(CX)
	VZEROUPPER
	RET

// func tileGroup8VNNI(dst *[8][16]float32, tile *byte, stride int, group *byte, nb int)
TEXT ·tileGroup8VNNI(SB), NOSPLIT, $0-40
	GROUP_ARGS
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7

loop:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	GINIT(0, Z16); GINIT(1, Z17); GINIT(2, Z18); GINIT(3, Z19); GINIT(4, Z20); GINIT(5, Z21); GINIT(6, Z22); GINIT(7, Z23)
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	GDOTA(0, Z16); GDOTA(1, Z17); GDOTA(2, Z18); GDOTA(3, Z19); GDOTA(4, Z20); GDOTA(5, Z21); GDOTA(6, Z22); GDOTA(7, Z23)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	GDOTB(0, Z16); GDOTB(1, Z17); GDOTB(2, Z18); GDOTB(3, Z19); GDOTB(4, Z20); GDOTB(5, Z21); GDOTB(6, Z22); GDOTB(7, Z23)
	GSCALES
	GFIN(0, Z16, Z0); GFIN(1, Z17, Z1); GFIN(2, Z18, Z2); GFIN(3, Z19, Z3); GFIN(4, Z20, Z4); GFIN(5, Z21, Z5); GFIN(6, Z22, Z6); GFIN(7, Z23, Z7)
	ADDQ $144, SI
	ADDQ $320, R8
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX); VMOVUPS Z1, 64(CX); VMOVUPS Z2, 128(CX); VMOVUPS Z3, 192(CX); VMOVUPS Z4, 256(CX); VMOVUPS Z5, 320(CX); VMOVUPS Z6, 384(CX); VMOVUPS Z7, 448(CX)
	VZEROUPPER
	RET
