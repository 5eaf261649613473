// Macros shared by the amd64 tile kernels (tile_amd64.s, tile_vnni_amd64.s).
// Registers: SI the tile block, R8-R11 the four tokens' activation rows,
// R12, R13, AX, DI their sums, DX and BX the block's offsets in those, CX
// the blocks left; Y15 (Z15) holds 0x0f in every byte.

// CHUNK splits chunk c of the tile block (32 bytes at off(SI)) into its
// low nibbles (elements 4c..4c+3 of each row) in lo and high nibbles
// (elements 16+4c..) in hi.
#define CHUNK(off, lo, hi) VMOVDQU off(SI), hi; VPAND Y15, hi, lo; VPSRLW $4, hi, hi; VPAND Y15, hi, hi

// CHUNKZ is CHUNK over two tiles, the one at SI in the low halves of
// 512-bit registers and the one R15 bytes further in the high halves.
#define CHUNKZ(off, lo, hi, hiy) \
	VMOVDQU off(SI), hiy; VINSERTI64X4 $1, off(SI)(R15*1), hi, hi; \
	VPANDD Z15, hi, lo; VPSRLW $4, hi, hi; VPANDD Z15, hi, hi

// NEXT moves to the next block and counts it.
#define NEXT ADDQ $144, SI; ADDQ $34, DX; ADDQ $8, BX; DECQ CX

// AHEAD reads the block 32 blocks ahead of the one at r (three lines;
// AHEAD_AT of r+i): the hardware prefetcher follows loops this dense in
// arithmetic too late (+28% on a 3-token step of a 7B model here).
#define AHEAD(r) PREFETCHT0 4608(r); PREFETCHT0 4672(r); PREFETCHT0 4736(r)
#define AHEAD_AT(r, i) PREFETCHT0 4608(r)(i*1); PREFETCHT0 4672(r)(i*1); PREFETCHT0 4736(r)(i*1)

// FOUR_ARGS loads the four-token kernels' arguments (tile *byte, a, sums
// *[4]*byte and nb int, at the given frame offsets) and clears the block
// offsets.
#define FOUR_ARGS(toff, aoff, soff, nboff) \
	MOVQ toff(FP), SI; \
	MOVQ aoff(FP), CX; MOVQ 0(CX), R8; MOVQ 8(CX), R9; MOVQ 16(CX), R10; MOVQ 24(CX), R11; \
	MOVQ soff(FP), CX; MOVQ 0(CX), R12; MOVQ 8(CX), R13; MOVQ 16(CX), AX; MOVQ 24(CX), DI; \
	MOVQ nboff(FP), CX; XORQ DX, DX; XORQ BX, BX

// ONE_ARGS loads the one-token kernels' arguments (dst, tile, a, sums *byte,
// nb int) and clears the block offsets.
#define ONE_ARGS \
	MOVQ tile+8(FP), SI; MOVQ a+16(FP), R8; MOVQ sums+24(FP), R12; MOVQ nb+32(FP), CX; \
	XORQ DX, DX; XORQ BX, BX
