//go:build !purego

#include "textflag.h"
#include "tile_amd64.h"

// The tile kernels with AVX-512 VNNI (on 256-bit registers, which needs
// AVX-512VL): vpdpbusd multiplies four unsigned weight bytes by four
// signed activation bytes and adds them to an int32 lane in one step,
// the activation dword broadcast from memory, where AVX2 needs a
// broadcast, vpmaddubsw, an int16 add and a final vpmaddwd. The sums are
// the same integers, so the results are tile_amd64.s's bits. Registers as
// there, with Y4-Y7 int32 sums and no word ones.

#define VCONSTS MOVL $0x0f0f0f0f, DX; VMOVD DX, X15; VPBROADCASTD X15, Y15

#define DOT4(off, y) \
	VPDPBUSD.BCST off(R8)(DX*1), y, Y4; \
	VPDPBUSD.BCST off(R9)(DX*1), y, Y5; \
	VPDPBUSD.BCST off(R10)(DX*1), y, Y6; \
	VPDPBUSD.BCST off(R11)(DX*1), y, Y7

// FINISH removes the 8·Σa of sums register s from isum and adds
// isum·(d_w·d_a) to acc; Y13 holds the rows' scales d_w.
#define FINISH(isum, s, acc) \
	VPBROADCASTD (s)(BX*1), Y12; VPSUBD Y12, isum, isum; VCVTDQ2PS isum, isum; \
	VBROADCASTSS 4(s)(BX*1), Y12; VMULPS Y13, Y12, Y12; \
	VFMADD231PS Y12, isum, acc

// func tileVNNI(dst *[4][8]float32, tile *byte, a, sums *[4]*byte, nb int)
TEXT ·tileVNNI(SB), NOSPLIT, $0-40
	VCONSTS
	FOUR_ARGS(tile+8, a+16, sums+24, nb+32)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop4:
	AHEAD(SI)
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	CHUNK(16, Y8, Y9)
	CHUNK(48, Y10, Y11)
	DOT4(2, Y8)
	DOT4(18, Y9)
	DOT4(6, Y10)
	DOT4(22, Y11)
	CHUNK(80, Y8, Y9)
	CHUNK(112, Y10, Y11)
	DOT4(10, Y8)
	DOT4(26, Y9)
	DOT4(14, Y10)
	DOT4(30, Y11)
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

// func tile1VNNI(dst *[8]float32, tile, a, sums *byte, nb int)
TEXT ·tile1VNNI(SB), NOSPLIT, $0-40
	VCONSTS
	ONE_ARGS
	VXORPS Y0, Y0, Y0

loop1:
	AHEAD(SI)
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	CHUNK(16, Y8, Y9)
	CHUNK(48, Y10, Y11)
	VPDPBUSD.BCST 2(R8)(DX*1), Y8, Y4
	VPDPBUSD.BCST 18(R8)(DX*1), Y9, Y5
	VPDPBUSD.BCST 6(R8)(DX*1), Y10, Y4
	VPDPBUSD.BCST 22(R8)(DX*1), Y11, Y5
	CHUNK(80, Y8, Y9)
	CHUNK(112, Y10, Y11)
	VPDPBUSD.BCST 10(R8)(DX*1), Y8, Y4
	VPDPBUSD.BCST 26(R8)(DX*1), Y9, Y5
	VPDPBUSD.BCST 14(R8)(DX*1), Y10, Y4
	VPDPBUSD.BCST 30(R8)(DX*1), Y11, Y5
	VPADDD Y5, Y4, Y4
	VCVTPH2PS (SI), Y13
	FINISH(Y4, R12, Y0)
	NEXT
	JNZ loop1
	MOVQ dst+0(FP), CX
	VMOVUPS Y0, 0(CX)
	VZEROUPPER
	RET

// The pair kernel runs two consecutive tiles (16 rows) on 512-bit
// registers: tile A in the low half of each register, tile B (R15 bytes
// further) in the high half. Z registers as the Y ones above.

#define DOT4Z(off, z) \
	VPDPBUSD.BCST off(R8)(DX*1), z, Z4; \
	VPDPBUSD.BCST off(R9)(DX*1), z, Z5; \
	VPDPBUSD.BCST off(R10)(DX*1), z, Z6; \
	VPDPBUSD.BCST off(R11)(DX*1), z, Z7

#define FINISHZ(isum, s, acc) \
	VPBROADCASTD (s)(BX*1), Z12; VPSUBD Z12, isum, isum; VCVTDQ2PS isum, isum; \
	VBROADCASTSS 4(s)(BX*1), Z12; VMULPS Z13, Z12, Z12; \
	VFMADD231PS Z12, isum, acc

// func tilePairVNNI(dst *[4][16]float32, tile *byte, stride int, a, sums *[4]*byte, nb int)
TEXT ·tilePairVNNI(SB), NOSPLIT, $0-48
	MOVL $0x0f0f0f0f, DX
	VMOVD DX, X15
	VPBROADCASTD X15, Z15
	MOVQ stride+16(FP), R15
	FOUR_ARGS(tile+8, a+24, sums+32, nb+40)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loopz:
	AHEAD(SI)
	AHEAD_AT(SI, R15)
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	CHUNKZ(16, Z8, Z9, Y9)
	CHUNKZ(48, Z10, Z11, Y11)
	DOT4Z(2, Z8)
	DOT4Z(18, Z9)
	DOT4Z(6, Z10)
	DOT4Z(22, Z11)
	CHUNKZ(80, Z8, Z9, Y9)
	CHUNKZ(112, Z10, Z11, Y11)
	DOT4Z(10, Z8)
	DOT4Z(26, Z9)
	DOT4Z(14, Z10)
	DOT4Z(30, Z11)
	VCVTPH2PS (SI), Y13
	VCVTPH2PS (SI)(R15*1), Y12
	VINSERTF32X8 $1, Y12, Z13, Z13
	FINISHZ(Z4, R12, Z0)
	FINISHZ(Z5, R13, Z1)
	FINISHZ(Z6, AX, Z2)
	FINISHZ(Z7, DI, Z3)
	NEXT
	JNZ loopz
	MOVQ dst+0(FP), CX
	VMOVUPS Z0, 0(CX)
	VMOVUPS Z1, 64(CX)
	VMOVUPS Z2, 128(CX)
	VMOVUPS Z3, 192(CX)
	VZEROUPPER
	RET

#define DOT1(row, off, y, isum) VPDPBUSD.BCST off(row)(DX*1), y, isum

// func tile2VNNI(dst0, dst1 *[8]float32, tile *byte, a, sums *[4]*byte, nb int)
// uses the first two tokens of a and sums: a decode-sized step of two
// tokens reads each tile block once for both.
TEXT ·tile2VNNI(SB), NOSPLIT, $0-48
	VCONSTS
	FOUR_ARGS(tile+16, a+24, sums+32, nb+40)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

loop2:
	AHEAD(SI)
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	CHUNK(16, Y8, Y9)
	CHUNK(48, Y10, Y11)
	DOT1(R8, 2, Y8, Y4); DOT1(R8, 18, Y9, Y5); DOT1(R8, 6, Y10, Y4); DOT1(R8, 22, Y11, Y5)
	DOT1(R9, 2, Y8, Y6); DOT1(R9, 18, Y9, Y7); DOT1(R9, 6, Y10, Y6); DOT1(R9, 22, Y11, Y7)
	CHUNK(80, Y8, Y9)
	CHUNK(112, Y10, Y11)
	DOT1(R8, 10, Y8, Y4); DOT1(R8, 26, Y9, Y5); DOT1(R8, 14, Y10, Y4); DOT1(R8, 30, Y11, Y5)
	DOT1(R9, 10, Y8, Y6); DOT1(R9, 26, Y9, Y7); DOT1(R9, 14, Y10, Y6); DOT1(R9, 30, Y11, Y7)
	VPADDD Y5, Y4, Y4
	VPADDD Y7, Y6, Y6
	VCVTPH2PS (SI), Y13
	FINISH(Y4, R12, Y0)
	FINISH(Y6, R13, Y1)
	NEXT
	JNZ loop2
	MOVQ dst0+0(FP), CX
	VMOVUPS Y0, (CX)
	MOVQ dst1+8(FP), CX
	VMOVUPS Y1, (CX)
	VZEROUPPER
	RET
