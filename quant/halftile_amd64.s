//go:build !purego

#include "textflag.h"

// The tinyBLAS half dots of four weight rows with eight activation rows at
// once. Each of the 32 (row, token) pairs keeps its own 8-lane FMA
// accumulator over steps of 8, as f16TinyAVX2 does for one pair, so the
// sums are the same bits. A 512-bit register holds two pairs, rows 2p and
// 2p+1 with token t in Z(2t+p): the two rows' converted weights side by
// side, each serving eight tokens, and the token's activations broadcast
// to both halves, serving four rows. The 32 accumulators are stored for
// the caller's horizontal sums. Registers: SI, DI, BX, AX the rows, R8..R15
// the tokens, DX the byte offset into the rows (twice that into the
// tokens), CX the steps left.

#define TILE_ARGS \
	MOVQ w+0(FP), AX; MOVQ 0(AX), SI; MOVQ 8(AX), DI; MOVQ 16(AX), BX; MOVQ 24(AX), AX; \
	MOVQ x+8(FP), R8; MOVQ 8(R8), R9; MOVQ 16(R8), R10; MOVQ 24(R8), R11; \
	MOVQ 32(R8), R12; MOVQ 40(R8), R13; MOVQ 48(R8), R14; MOVQ 56(R8), R15; MOVQ 0(R8), R8; \
	MOVQ steps+16(FP), CX; XORQ DX, DX; \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15

// TILE_TOKEN multiplies one step of token row p (at byte offset 2·DX),
// broadcast to both halves of x, with both row pairs into a0 and a1.
#define TILE_TOKEN(p, x, a0, a1) \
	VBROADCASTF32X8 (p)(DX*2), x; \
	VFMADD231PS x, Z16, a0; VFMADD231PS x, Z18, a1

#define TILE_STEP \
	VINSERTF32X8 $1, Y17, Z16, Z16; \
	VINSERTF32X8 $1, Y19, Z18, Z18; \
	TILE_TOKEN(R8, Z20, Z0, Z1); \
	TILE_TOKEN(R9, Z21, Z2, Z3); \
	TILE_TOKEN(R10, Z20, Z4, Z5); \
	TILE_TOKEN(R11, Z21, Z6, Z7); \
	TILE_TOKEN(R12, Z20, Z8, Z9); \
	TILE_TOKEN(R13, Z21, Z10, Z11); \
	TILE_TOKEN(R14, Z20, Z12, Z13); \
	TILE_TOKEN(R15, Z21, Z14, Z15); \
	ADDQ $16, DX; DECQ CX

#define TILE_STORE \
	MOVQ acc+24(FP), AX; \
	VMOVUPS Z0, 0(AX); VMOVUPS Z1, 64(AX); VMOVUPS Z2, 128(AX); VMOVUPS Z3, 192(AX); \
	VMOVUPS Z4, 256(AX); VMOVUPS Z5, 320(AX); VMOVUPS Z6, 384(AX); VMOVUPS Z7, 448(AX); \
	VMOVUPS Z8, 512(AX); VMOVUPS Z9, 576(AX); VMOVUPS Z10, 640(AX); VMOVUPS Z11, 704(AX); \
	VMOVUPS Z12, 768(AX); VMOVUPS Z13, 832(AX); VMOVUPS Z14, 896(AX); VMOVUPS Z15, 960(AX); \
	VZEROUPPER

// func f16Tile4x8AVX512(w *[4]*byte, x *[8]*float32, steps int, acc *[8][2][16]float32)
TEXT ·f16Tile4x8AVX512(SB), NOSPLIT, $0-32
	TILE_ARGS

loop:
	VCVTPH2PS (SI)(DX*1), Y16
	VCVTPH2PS (DI)(DX*1), Y17
	VCVTPH2PS (BX)(DX*1), Y18
	VCVTPH2PS (AX)(DX*1), Y19
	TILE_STEP
	JNZ loop
	TILE_STORE
	RET

// func bf16Tile4x8AVX512(w *[4]*byte, x *[8]*float32, steps int, acc *[8][2][16]float32)
TEXT ·bf16Tile4x8AVX512(SB), NOSPLIT, $0-32
	TILE_ARGS

loop:
	VPMOVZXWD (SI)(DX*1), Y16
	VPMOVZXWD (DI)(DX*1), Y17
	VPMOVZXWD (BX)(DX*1), Y18
	VPMOVZXWD (AX)(DX*1), Y19
	VPSLLD $16, Y16, Y16
	VPSLLD $16, Y17, Y17
	VPSLLD $16, Y18, Y18
	VPSLLD $16, Y19, Y19
	TILE_STEP
	JNZ loop
	TILE_STORE
	RET
