//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// The NEON tile kernels and packer (tile.go), bit for bit tileGo and
// packQ4_0TileGo. Each kernel comes twice: with SDOT by element (the
// dot-product extension) and with SMULL/SMLAL for CPUs without it; the
// integer sums are exact either way, and the float part is the same.
//
// Kernel registers: V0-V7 the float accumulators (token t: rows 0-3 in
// V(2t), rows 4-7 in V(2t+1)); V8-V15 the low nibbles of the tile block,
// chunk c of rows 0-3 in V(8+2c) and of rows 4-7 in V(9+2c); V16-V23 its
// high nibbles likewise; V24-V25 a token's 32 activation quants, then its
// block sums; V26-V27 the token's row sums of rows 0-3 and 4-7; V28-V30
// scratch; V31 the block's eight F16 scales. R0 the tile block, R1-R4 the
// tokens' activation quants, R5-R8 their sums, R11 the blocks left.

// UNPACK loads the next tile block: scales into V31, quants into V8-V15,
// whose high nibbles go to V16-V23.
#define UNPACK \
	VLD1.P 16(R0), [V31.B16]; \
	VLD1.P 64(R0), [V8.B16, V9.B16, V10.B16, V11.B16]; \
	VLD1.P 64(R0), [V12.B16, V13.B16, V14.B16, V15.B16]; \
	VMOVI $15, V24.B16; \
	VUSHR $4, V8.B16, V16.B16; VAND V24.B16, V8.B16, V8.B16; \
	VUSHR $4, V9.B16, V17.B16; VAND V24.B16, V9.B16, V9.B16; \
	VUSHR $4, V10.B16, V18.B16; VAND V24.B16, V10.B16, V10.B16; \
	VUSHR $4, V11.B16, V19.B16; VAND V24.B16, V11.B16, V11.B16; \
	VUSHR $4, V12.B16, V20.B16; VAND V24.B16, V12.B16, V12.B16; \
	VUSHR $4, V13.B16, V21.B16; VAND V24.B16, V13.B16, V13.B16; \
	VUSHR $4, V14.B16, V22.B16; VAND V24.B16, V14.B16, V14.B16; \
	VUSHR $4, V15.B16, V23.B16; VAND V24.B16, V15.B16, V15.B16

// SDOT_ROWS sets V26-V27 to the rows' Σq·a over the block, q the
// unsigned nibbles: chunk c's low nibbles meet activation bytes 4c..4c+3
// (lane c of V24), its high ones bytes 16+4c.. (lane c of V25).
#define SDOT_ROWS \
	VEOR V26.B16, V26.B16, V26.B16; VEOR V27.B16, V27.B16, V27.B16; \
	SDOTE(26, 8, 24, 0); SDOTE(27, 9, 24, 0); SDOTE(26, 16, 25, 0); SDOTE(27, 17, 25, 0); \
	SDOTE(26, 10, 24, 1); SDOTE(27, 11, 24, 1); SDOTE(26, 18, 25, 1); SDOTE(27, 19, 25, 1); \
	SDOTE(26, 12, 24, 2); SDOTE(27, 13, 24, 2); SDOTE(26, 20, 25, 2); SDOTE(27, 21, 25, 2); \
	SDOTE(26, 14, 24, 3); SDOTE(27, 15, 24, 3); SDOTE(26, 22, 25, 3); SDOTE(27, 23, 25, 3)

// NEON_FIRST and NEON_MLA multiply the nibble registers r03 (rows 0-3)
// and r47 (rows 4-7) with lane i of activation register act, broadcast to
// V30, into int16 products: rows 0-1 in V26, 2-3 in V27, 4-5 in V28, 6-7
// in V29. FIRST sets them, MLA adds to them; eight products of at most
// 15·128 stay within int16.
#define NEON_FIRST(r03, r47, act, i) \
	VDUP act.S[i], V30.S4; SMULL(26, r03, 30); SMULL2(27, r03, 30); SMULL(28, r47, 30); SMULL2(29, r47, 30)
#define NEON_MLA(r03, r47, act, i) \
	VDUP act.S[i], V30.S4; SMLAL(26, r03, 30); SMLAL2(27, r03, 30); SMLAL(28, r47, 30); SMLAL2(29, r47, 30)

// NEON_ROWS is SDOT_ROWS without the extension: the groups' int16
// products, then pair sums to four bytes per row.
#define NEON_ROWS \
	NEON_FIRST(8, 9, V24, 0); NEON_MLA(16, 17, V25, 0); \
	NEON_MLA(10, 11, V24, 1); NEON_MLA(18, 19, V25, 1); \
	NEON_MLA(12, 13, V24, 2); NEON_MLA(20, 21, V25, 2); \
	NEON_MLA(14, 15, V24, 3); NEON_MLA(22, 23, V25, 3); \
	SADDLP(26, 26); SADDLP(27, 27); SADDLP(28, 28); SADDLP(29, 29); \
	ADDP(26, 26, 27); ADDP(27, 28, 29)

// TOKEN adds the block's products with the activation block at a (past
// its F16 scale; its sums at s) to lo and hi: the row sums of ROWS less
// 8·Σa, converted exactly, times d_w·d_a rounded to float32, in one FMA.
#define TOKEN(ROWS, a, s, lo, hi) \
	VLD1 (a), [V24.B16, V25.B16]; ADD $34, a; \
	ROWS; \
	FMOVD.P 8(s), F24; VDUP V24.S[0], V25.S4; \
	VSUB V25.S4, V26.S4, V26.S4; VSUB V25.S4, V27.S4, V27.S4; \
	SCVTF(26, 26); SCVTF(27, 27); \
	FCVTL(28, 31); FCVTL2(29, 31); FMULE(28, 28, 24, 1); FMULE(29, 29, 24, 1); \
	VFMLA V28.S4, V26.S4, lo.S4; VFMLA V29.S4, V27.S4, hi.S4

// TILE4 defines func name(dst *[4][8]float32, tile *byte, a, sums *[4]*byte, nb int).
#define TILE4(name, ROWS) \
TEXT name(SB), NOSPLIT, $0-40; \
	MOVD tile+8(FP), R0; MOVD a+16(FP), R9; MOVD sums+24(FP), R10; MOVD nb+32(FP), R11; \
	MOVD 0(R9), R1; MOVD 8(R9), R2; MOVD 16(R9), R3; MOVD 24(R9), R4; \
	MOVD 0(R10), R5; MOVD 8(R10), R6; MOVD 16(R10), R7; MOVD 24(R10), R8; \
	ADD $2, R1; ADD $2, R2; ADD $2, R3; ADD $2, R4; \
	ZERO8; \
loop: \
	UNPACK; \
	TOKEN(ROWS, R1, R5, V0, V1); TOKEN(ROWS, R2, R6, V2, V3); \
	TOKEN(ROWS, R3, R7, V4, V5); TOKEN(ROWS, R4, R8, V6, V7); \
	SUB $1, R11; CBNZ R11, loop; \
	MOVD dst+0(FP), R9; \
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R9); VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R9); \
	RET

// TILE1 defines func name(dst *[8]float32, tile, a, sums *byte, nb int).
#define TILE1(name, ROWS) \
TEXT name(SB), NOSPLIT, $0-40; \
	MOVD tile+8(FP), R0; MOVD a+16(FP), R1; MOVD sums+24(FP), R5; MOVD nb+32(FP), R11; \
	ADD $2, R1; \
	VEOR V0.B16, V0.B16, V0.B16; VEOR V1.B16, V1.B16, V1.B16; \
loop: \
	UNPACK; TOKEN(ROWS, R1, R5, V0, V1); \
	SUB $1, R11; CBNZ R11, loop; \
	MOVD dst+0(FP), R9; VST1 [V0.S4, V1.S4], (R9); \
	RET

TILE4(·tileSDOT, SDOT_ROWS)
TILE4(·tileNEON, NEON_ROWS)
TILE1(·tile1SDOT, SDOT_ROWS)
TILE1(·tile1NEON, NEON_ROWS)

// TRANSPOSE4 turns the quants of four rows (Vr0-Vr3, four dwords each)
// into their halves of the tile's chunks: dword c of row r goes to dword
// r of chunk register Vcc. V24-V27 are scratch.
#define TRANSPOSE4(r0, r1, r2, r3, c0, c1, c2, c3) \
	VTRN1 r1.S4, r0.S4, V24.S4; VTRN2 r1.S4, r0.S4, V25.S4; \
	VTRN1 r3.S4, r2.S4, V26.S4; VTRN2 r3.S4, r2.S4, V27.S4; \
	VTRN1 V26.D2, V24.D2, c0.D2; VTRN1 V27.D2, V25.D2, c1.D2; \
	VTRN2 V26.D2, V24.D2, c2.D2; VTRN2 V27.D2, V25.D2, c3.D2

// ROW copies the F16 scale of row r (its quants at p) to bytes 2r of the
// tile block at R0, loads its quants into Vv and steps p to the next block.
#define ROW(p, r, v) MOVHU -2(p), R11; MOVH R11, (2*r)(R0); VLD1 (p), [v.B16]; ADD $18, p

// func packQ4_0TileNEON(dst, w *byte, stride, nb int)
TEXT ·packQ4_0TileNEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD w+8(FP), R1
	MOVD stride+16(FP), R9
	MOVD nb+24(FP), R10
	ADD $2, R1       // row 0's quants
	ADD R9, R1, R2   // row 1's
	ADD R9, R2, R3
	ADD R9, R3, R4
	ADD R9, R4, R5
	ADD R9, R5, R6
	ADD R9, R6, R7
	ADD R9, R7, R8   // row 7's

pack:
	ROW(R1, 0, V0)
	ROW(R2, 1, V1)
	ROW(R3, 2, V2)
	ROW(R4, 3, V3)
	ROW(R5, 4, V4)
	ROW(R6, 5, V5)
	ROW(R7, 6, V6)
	ROW(R8, 7, V7)
	TRANSPOSE4(V0, V1, V2, V3, V16, V18, V20, V22)
	TRANSPOSE4(V4, V5, V6, V7, V17, V19, V21, V23)
	ADD $16, R0
	VST1.P [V16.B16, V17.B16, V18.B16, V19.B16], 64(R0)
	VST1.P [V20.B16, V21.B16, V22.B16, V23.B16], 64(R0)
	SUB $1, R10
	CBNZ R10, pack
	RET
