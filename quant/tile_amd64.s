//go:build !purego

#include "textflag.h"
#include "tile_amd64.h"

// The AVX2 tile kernels and packer (tile.go). Kernel registers: Y0-Y3 the
// float accumulators of tokens 0-3 (lane r: row r), Y4-Y7 their block's
// int16 pair sums, Y8-Y11 element groups of the tile block, Y12-Y13
// scratch, Y14 1 in every word, Y15 0x0f in every byte. R8-R11 the tokens'
// activation rows, R12, R13, AX, DI their sums, DX and BX the offsets of
// the block in those, SI the tile block.

#define CONSTS \
	MOVL $0x00010001, DX; VMOVD DX, X14; VPBROADCASTD X14, Y14; \
	MOVL $0x0f0f0f0f, DX; VMOVD DX, X15; VPBROADCASTD X15, Y15

// GROUP multiplies the four activation bytes at off of each token's block
// with element group y: the first group of a block sets the pair sums, the
// others add to them. vpmaddubsw's pairs cannot saturate (|2·15·128| <
// 2^15) and eight groups' sums stay below 2^15 too.
#define GROUP4_FIRST(off, y) \
	VPBROADCASTD off(R8)(DX*1), Y12; VPMADDUBSW Y12, y, Y4; \
	VPBROADCASTD off(R9)(DX*1), Y12; VPMADDUBSW Y12, y, Y5; \
	VPBROADCASTD off(R10)(DX*1), Y12; VPMADDUBSW Y12, y, Y6; \
	VPBROADCASTD off(R11)(DX*1), Y12; VPMADDUBSW Y12, y, Y7

#define GROUP1(row, off, y, isum) VPBROADCASTD off(row)(DX*1), Y12; VPMADDUBSW Y12, y, Y13; VPADDW Y13, isum, isum

#define GROUP4(off, y) GROUP1(R8, off, y, Y4); GROUP1(R9, off, y, Y5); GROUP1(R10, off, y, Y6); GROUP1(R11, off, y, Y7)

// FINISH turns a token's pair sums (isum) into the block's eight row sums,
// removes the 8·Σa of sums register s, and adds isum·(d_w·d_a) to acc; Y13
// holds the rows' scales d_w.
#define FINISH(isum, s, acc) \
	VPMADDWD Y14, isum, isum; \
	VPBROADCASTD (s)(BX*1), Y12; VPSUBD Y12, isum, isum; VCVTDQ2PS isum, isum; \
	VBROADCASTSS 4(s)(BX*1), Y12; VMULPS Y13, Y12, Y12; \
	VFMADD231PS Y12, isum, acc

// func tileAVX2(dst *[4][8]float32, tile *byte, a, sums *[4]*byte, nb int)
TEXT ·tileAVX2(SB), NOSPLIT, $0-40
	CONSTS
	FOUR_ARGS(tile+8, a+16, sums+24, nb+32)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop4:
	AHEAD(SI)
	CHUNK(16, Y8, Y9)
	CHUNK(48, Y10, Y11)
	GROUP4_FIRST(2, Y8)
	GROUP4(18, Y9)
	GROUP4(6, Y10)
	GROUP4(22, Y11)
	CHUNK(80, Y8, Y9)
	CHUNK(112, Y10, Y11)
	GROUP4(10, Y8)
	GROUP4(26, Y9)
	GROUP4(14, Y10)
	GROUP4(30, Y11)
	VCVTPH2PS (SI), Y13
	FINISH(Y4, R12, Y0)
	FINISH(Y5, R13, Y1)
	FINISH(Y6, AX, Y2)
	FINISH(Y7, DI, Y3)
	NEXT
	JNZ loop4
	MOVQ dst+0(FP), CX
	VMOVUPS Y0, 0(CX)
	VMOVUPS Y1, 32(CX)
	VMOVUPS Y2, 64(CX)
	VMOVUPS Y3, 96(CX)
	VZEROUPPER
	RET

// func tile1AVX2(dst *[8]float32, tile, a, sums *byte, nb int)
TEXT ·tile1AVX2(SB), NOSPLIT, $0-40
	CONSTS
	ONE_ARGS
	VXORPS Y0, Y0, Y0

loop1:
	AHEAD(SI)
	CHUNK(16, Y8, Y9)
	VPBROADCASTD 2(R8)(DX*1), Y12
	VPMADDUBSW Y12, Y8, Y4
	GROUP1(R8, 18, Y9, Y4)
	CHUNK(48, Y8, Y9)
	GROUP1(R8, 6, Y8, Y4)
	GROUP1(R8, 22, Y9, Y4)
	CHUNK(80, Y8, Y9)
	GROUP1(R8, 10, Y8, Y4)
	GROUP1(R8, 26, Y9, Y4)
	CHUNK(112, Y8, Y9)
	GROUP1(R8, 14, Y8, Y4)
	GROUP1(R8, 30, Y9, Y4)
	VCVTPH2PS (SI), Y13
	FINISH(Y4, R12, Y0)
	NEXT
	JNZ loop1
	MOVQ dst+0(FP), CX
	VMOVUPS Y0, 0(CX)
	VZEROUPPER
	RET

// PAIR loads the quants of rows r (at off(p)) and r+4 (at off(q)) into
// the two halves of y.
#define PAIR(p, q, y, x) VMOVDQU 2(p), x; VINSERTI128 $1, 2(q), y, y

// SCALE copies row r's F16 scale (at p) to bytes 2r of the tile block.
#define SCALE(p, r) MOVWLZX (p), AX; MOVW AX, (2*r)(DI)

// func packQ4_0TileAVX2(dst, w *byte, stride, nb int)
TEXT ·packQ4_0TileAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), BX
	MOVQ nb+24(FP), CX
	LEAQ (SI)(BX*1), R8  // row 1
	LEAQ (SI)(BX*2), R9  // row 2
	LEAQ (R8)(BX*2), R10 // row 3
	LEAQ (R9)(BX*2), R11 // row 4
	LEAQ (R10)(BX*2), R12 // row 5
	LEAQ (R11)(BX*2), R13 // row 6
	LEAQ (R12)(BX*2), DX  // row 7

pack:
	PAIR(SI, R11, Y0, X0)
	PAIR(R8, R12, Y1, X1)
	PAIR(R9, R13, Y2, X2)
	PAIR(R10, DX, Y3, X3)
	// Transpose the 4×8 dwords: dword c of row r goes to dword r of chunk
	// c (the lanes hold rows 0-3 and 4-7).
	VPUNPCKLDQ Y1, Y0, Y4
	VPUNPCKHDQ Y1, Y0, Y5
	VPUNPCKLDQ Y3, Y2, Y6
	VPUNPCKHDQ Y3, Y2, Y7
	VPUNPCKLQDQ Y6, Y4, Y8
	VPUNPCKHQDQ Y6, Y4, Y9
	VPUNPCKLQDQ Y7, Y5, Y10
	VPUNPCKHQDQ Y7, Y5, Y11
	VMOVDQU Y8, 16(DI)
	VMOVDQU Y9, 48(DI)
	VMOVDQU Y10, 80(DI)
	VMOVDQU Y11, 112(DI)
	SCALE(SI, 0)
	SCALE(R8, 1)
	SCALE(R9, 2)
	SCALE(R10, 3)
	SCALE(R11, 4)
	SCALE(R12, 5)
	SCALE(R13, 6)
	SCALE(DX, 7)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $18, R12
	ADDQ $18, R13
	ADDQ $18, DX
	ADDQ $144, DI
	DECQ CX
	JNZ pack
	VZEROUPPER
	RET
