package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The tile kernel is the prefill (mat-mat) form of Q4_0·Q8_0. A lane-order
// dot (lanes.go) spends a float conversion, a multiply and an FMA on every
// block of every (row, token) pair, which bounds a prefill by arithmetic
// at a few times below what the integer units can do. The tile kernel
// puts eight weight rows in the eight lanes of a register instead: a
// block's integer sums for eight rows and one token come out of one
// register, and one conversion and one FMA serve all eight. That needs the
// eight rows interleaved, four elements at a time, which PackQ4_0Tile
// does once per tile (a few kilobytes) for all the tokens of a prefill.
//
// Its order is that of ggml's repacked Q4_0 kernels (ggml_gemm_q4_0_8x8_q8_0,
// which llama.cpp uses for a 7B model's prefill on AVX2): per (row, token),
// one float32 accumulator and, block after block, acc = fma(Σ(q-8)·a,
// d_w·d_a, acc), where the block's integer sum and the product of its two
// scales are exact. It is not the lane order of the one-row dots, so a
// prompt prefilled through tiles and the same prompt decoded token by
// token differ in the last bits, as they do in llama.cpp.

// TileRows is the number of weight rows in a tile.
const TileRows = 8

// tileBlockBytes is one block of a tile: eight groups of four elements of
// each of the eight rows, unpacked to bytes 0..15 (256 bytes), then the
// rows' scales as float32 (32 bytes).
const tileBlockBytes = 32*TileRows + 4*TileRows

// TileBytes is the size of a packed tile of rows of n elements.
func TileBytes(n int) int { return n / 32 * tileBlockBytes }

// TileActivationBytes is the size of the per-block sums that
// PrepareTileActivation derives from a Q8_0 activation row of n elements.
func TileActivationBytes(n int) int { return n / 32 * 8 }

// PackQ4_0Tile packs the TileRows consecutive Q4_0 rows of n elements in w
// into dst (TileBytes(n) bytes) for DotQ4_0Tile.
func PackQ4_0Tile(dst, w []byte, n int) {
	rb, nb := n/32*18, n/32
	if n%32 != 0 || len(w) != TileRows*rb || len(dst) != TileBytes(n) {
		panic(fmt.Sprintf("quant: tile of %d Q4_0 rows of %d elements: got %d weight and %d tile bytes, want %d and %d",
			TileRows, n, len(w), len(dst), TileRows*rb, TileBytes(n)))
	}
	if nb > 0 {
		tilePacker(dst, w, nb)
	}
}

// tilePacker is the fastest packer this machine runs; every one gives
// packQ4_0TileGo's bytes.
var tilePacker = packQ4_0TileGo

func packQ4_0TileGo(dst, w []byte, nb int) {
	rb := len(w) / TileRows
	for b := range nb {
		out := dst[b*tileBlockBytes : (b+1)*tileBlockBytes]
		for r := range TileRows {
			blk := w[r*rb+b*18 : r*rb+b*18+18]
			for j := range 32 {
				q := blk[2+j%16] & 0x0f
				if j >= 16 {
					q = blk[2+j%16] >> 4
				}
				out[(j/4)*32+4*r+j%4] = q
			}
			d := FP16ToFP32(binary.LittleEndian.Uint16(blk))
			binary.LittleEndian.PutUint32(out[256+4*r:], math.Float32bits(d))
		}
	}
}

// PrepareTileActivation writes, for each block of the Q8_0 activation row
// a of n elements, 8·Σq as an int32 (the correction for Q4_0's offset of
// 8) and the block's scale as a float32: the kernel's per-block inputs
// besides the quants.
func PrepareTileActivation(dst, a []byte, n int) {
	nb := n / 32
	if n%32 != 0 || len(a) != nb*34 || len(dst) != TileActivationBytes(n) {
		panic(fmt.Sprintf("quant: tile activation of %d elements: got %d activation and %d sum bytes, want %d and %d",
			n, len(a), len(dst), nb*34, TileActivationBytes(n)))
	}
	for b := range nb {
		blk := a[b*34 : b*34+34]
		var sum int32
		for _, q := range blk[2:] {
			sum += int32(int8(q))
		}
		binary.LittleEndian.PutUint32(dst[8*b:], uint32(8*sum))
		d := FP16ToFP32(binary.LittleEndian.Uint16(blk))
		binary.LittleEndian.PutUint32(dst[8*b+4:], math.Float32bits(d))
	}
}

// DotQ4_0Tile sets dst[t][r] to row r of the packed tile times activation
// row a[t] (Q8_0, n elements; sums[t] from PrepareTileActivation), for four
// tokens: fewer tokens repeat one of them.
func DotQ4_0Tile(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, n int) {
	nb := n / 32
	if n%32 != 0 || len(tile) != TileBytes(n) {
		panic(fmt.Sprintf("quant: tile dot of %d elements: got %d tile bytes, want %d", n, len(tile), TileBytes(n)))
	}
	for t := range a {
		if len(a[t]) != nb*34 || len(sums[t]) != TileActivationBytes(n) {
			panic(fmt.Sprintf("quant: tile dot of %d elements: token %d has %d activation and %d sum bytes, want %d and %d",
				n, t, len(a[t]), len(sums[t]), nb*34, TileActivationBytes(n)))
		}
	}
	if nb == 0 {
		*dst = [4][TileRows]float32{}
		return
	}
	tileKernel(dst, tile, a, sums, nb)
}

// tileKernel is the fastest implementation this machine runs; every one
// gives tileGo's bits.
var tileKernel = tileGo

func tileGo(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
	for t := range a {
		for r := range TileRows {
			var acc float32
			for b := range nb {
				blk := tile[b*tileBlockBytes:]
				qa := a[t][b*34+2 : b*34+34]
				var isum int32
				for j, q := range qa {
					isum += int32(blk[(j/4)*32+4*r+j%4]) * int32(int8(q))
				}
				isum -= int32(binary.LittleEndian.Uint32(sums[t][8*b:]))
				dw := math.Float32frombits(binary.LittleEndian.Uint32(blk[256+4*r:]))
				da := math.Float32frombits(binary.LittleEndian.Uint32(sums[t][8*b+4:]))
				acc = FMA32(float32(isum), dw*da, acc)
			}
			dst[t][r] = acc
		}
	}
}
