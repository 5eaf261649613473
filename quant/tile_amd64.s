//go:build !purego

#include "textflag.h"

// The AVX2 tile kernel (tile.go). Registers: Y0-Y3 the float accumulators
// of tokens 0-3 (lane r: row r), Y4-Y7 their block's int16 pair sums,
// Y8-Y11 four element groups of the tile block, Y12-Y13 scratch, Y14 1 in
// every word. R8-R11 the tokens' activation rows, R12, R13, AX, DI their
// sums, DX and BX the offsets of the block in those, SI the tile block.

// GROUP multiplies the four activation bytes at off of each token's block
// with tile group y: the first group of a block sets the pair sums, the
// others add to them. vpmaddubsw's pairs cannot saturate (|2·15·128| <
// 2^15) and eight groups' sums stay below 2^15 too.
#define GROUP_FIRST(off, y) \
	VPBROADCASTD off(R8)(DX*1), Y12; VPMADDUBSW Y12, y, Y4; \
	VPBROADCASTD off(R9)(DX*1), Y12; VPMADDUBSW Y12, y, Y5; \
	VPBROADCASTD off(R10)(DX*1), Y12; VPMADDUBSW Y12, y, Y6; \
	VPBROADCASTD off(R11)(DX*1), Y12; VPMADDUBSW Y12, y, Y7

#define GROUP(off, y) \
	VPBROADCASTD off(R8)(DX*1), Y12; VPMADDUBSW Y12, y, Y13; VPADDW Y13, Y4, Y4; \
	VPBROADCASTD off(R9)(DX*1), Y12; VPMADDUBSW Y12, y, Y13; VPADDW Y13, Y5, Y5; \
	VPBROADCASTD off(R10)(DX*1), Y12; VPMADDUBSW Y12, y, Y13; VPADDW Y13, Y6, Y6; \
	VPBROADCASTD off(R11)(DX*1), Y12; VPMADDUBSW Y12, y, Y13; VPADDW Y13, Y7, Y7

// FINISH turns token t's pair sums (isum) into the block's eight row sums,
// removes the 8·Σa of sums register s, and adds isum·(d_w·d_a) to acc.
#define FINISH(isum, s, acc) \
	VPMADDWD Y14, isum, isum; \
	VPBROADCASTD (s)(BX*1), Y12; VPSUBD Y12, isum, isum; VCVTDQ2PS isum, isum; \
	VBROADCASTSS 4(s)(BX*1), Y12; VMULPS 256(SI), Y12, Y12; \
	VFMADD231PS Y12, isum, acc

// func tileAVX2(dst *[4][8]float32, tile *byte, a, sums *[4]*byte, nb int)
TEXT ·tileAVX2(SB), NOSPLIT, $0-40
	MOVQ tile+8(FP), SI
	MOVQ a+16(FP), CX
	MOVQ 0(CX), R8
	MOVQ 8(CX), R9
	MOVQ 16(CX), R10
	MOVQ 24(CX), R11
	MOVQ sums+24(FP), CX
	MOVQ 0(CX), R12
	MOVQ 8(CX), R13
	MOVQ 16(CX), AX
	MOVQ 24(CX), DI
	MOVL $0x00010001, DX
	VMOVD DX, X14
	VPBROADCASTD X14, Y14
	MOVQ nb+32(FP), CX
	XORQ DX, DX
	XORQ BX, BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	VMOVDQU 0(SI), Y8
	VMOVDQU 32(SI), Y9
	VMOVDQU 64(SI), Y10
	VMOVDQU 96(SI), Y11
	GROUP_FIRST(2, Y8)
	GROUP(6, Y9)
	GROUP(10, Y10)
	GROUP(14, Y11)
	VMOVDQU 128(SI), Y8
	VMOVDQU 160(SI), Y9
	VMOVDQU 192(SI), Y10
	VMOVDQU 224(SI), Y11
	GROUP(18, Y8)
	GROUP(22, Y9)
	GROUP(26, Y10)
	GROUP(30, Y11)
	FINISH(Y4, R12, Y0)
	FINISH(Y5, R13, Y1)
	FINISH(Y6, AX, Y2)
	FINISH(Y7, DI, Y3)
	ADDQ $288, SI
	ADDQ $34, DX
	ADDQ $8, BX
	DECQ CX
	JNZ loop
	MOVQ dst+0(FP), CX
	VMOVUPS Y0, 0(CX)
	VMOVUPS Y1, 32(CX)
	VMOVUPS Y2, 64(CX)
	VMOVUPS Y3, 96(CX)
	VZEROUPPER
	RET

// ROW unpacks the 16 quant bytes of the Q4_0 block at addr into y: low
// nibbles (elements 0-15) in the low half, high nibbles in the high half,
// so dword g of y holds elements 4g..4g+3. Needs the nibble mask in Y15.
#define ROW(addr, y) \
	VMOVDQU addr, X8; VPSRLW $4, X8, X9; VINSERTI128 $1, X9, Y8, Y8; VPAND Y15, Y8, y

// SCALE16 inserts the F16 scale at addr as word i of X10.
#define SCALE16(addr, i) MOVWLZX addr, AX; VPINSRW $i, AX, X10, X10

// func packQ4_0TileAVX2(dst, w *byte, stride, nb int)
TEXT ·packQ4_0TileAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), BX
	MOVQ nb+24(FP), CX
	LEAQ (SI)(BX*4), R8
	LEAQ (SI)(BX*2), R9
	ADDQ BX, R9
	LEAQ (R8)(BX*2), R10
	ADDQ BX, R10

block:
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	ROW(2(SI), Y0)
	ROW(2(SI)(BX*1), Y1)
	ROW(2(SI)(BX*2), Y2)
	ROW(2(R9), Y3)
	ROW(2(R8), Y4)
	ROW(2(R8)(BX*1), Y5)
	ROW(2(R8)(BX*2), Y6)
	ROW(2(R10), Y7)
	// Transpose the 8×8 dwords: group g of row r goes to dword r of
	// output group g.
	VPUNPCKLDQ Y1, Y0, Y8
	VPUNPCKHDQ Y1, Y0, Y9
	VPUNPCKLDQ Y3, Y2, Y10
	VPUNPCKHDQ Y3, Y2, Y11
	VPUNPCKLDQ Y5, Y4, Y12
	VPUNPCKHDQ Y5, Y4, Y13
	VPUNPCKLDQ Y7, Y6, Y14
	VPUNPCKHDQ Y7, Y6, Y15
	VPUNPCKLQDQ Y10, Y8, Y0
	VPUNPCKHQDQ Y10, Y8, Y1
	VPUNPCKLQDQ Y11, Y9, Y2
	VPUNPCKHQDQ Y11, Y9, Y3
	VPUNPCKLQDQ Y14, Y12, Y4
	VPUNPCKHQDQ Y14, Y12, Y5
	VPUNPCKLQDQ Y15, Y13, Y6
	VPUNPCKHQDQ Y15, Y13, Y7
	VPERM2I128 $0x20, Y4, Y0, Y8
	VPERM2I128 $0x20, Y5, Y1, Y9
	VPERM2I128 $0x20, Y6, Y2, Y10
	VPERM2I128 $0x20, Y7, Y3, Y11
	VPERM2I128 $0x31, Y4, Y0, Y12
	VPERM2I128 $0x31, Y5, Y1, Y13
	VPERM2I128 $0x31, Y6, Y2, Y14
	VPERM2I128 $0x31, Y7, Y3, Y15
	VMOVDQU Y8, 0(DI)
	VMOVDQU Y9, 32(DI)
	VMOVDQU Y10, 64(DI)
	VMOVDQU Y11, 96(DI)
	VMOVDQU Y12, 128(DI)
	VMOVDQU Y13, 160(DI)
	VMOVDQU Y14, 192(DI)
	VMOVDQU Y15, 224(DI)
	// The rows' scales as float32.
	SCALE16((SI), 0)
	SCALE16((SI)(BX*1), 1)
	SCALE16((SI)(BX*2), 2)
	SCALE16((R9), 3)
	SCALE16((R8), 4)
	SCALE16((R8)(BX*1), 5)
	SCALE16((R8)(BX*2), 6)
	SCALE16((R10), 7)
	VCVTPH2PS X10, Y10
	VMOVUPS Y10, 256(DI)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $288, DI
	DECQ CX
	JNZ block
	VZEROUPPER
	RET
