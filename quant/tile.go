package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The tile kernels are a second form of Q4_0·Q8_0, for weights repacked
// once. A lane-order dot (lanes.go) spends a float conversion, a multiply
// and an FMA on every block of every (row, token) pair, and one-row loads
// leave the hardware prefetcher four short streams; so a decode step is
// bound by arithmetic on two cores and a prefill by arithmetic at a few
// times below what the integer units can do. A tile puts eight weight rows
// in the eight lanes of a register instead: a block's integer sums for
// eight rows and one token come out of one register, and one conversion
// and one FMA serve all eight, over one stream of memory. That needs the
// eight rows interleaved four bytes at a time, which PackQ4_0Tile does in
// the rows' own space (a tile is exactly as large as its rows), once, when
// a runtime first uses the weights.
//
// Their order is that of ggml's repacked Q4_0 kernels (ggml_gemv_q4_0_8x8_q8_0
// and ggml_gemm_q4_0_8x8_q8_0, which llama.cpp uses for a 7B Q4_0 model on
// AVX2): per (row, token), one float32 accumulator and, block after block,
// acc = fma(Σ(q-8)·a, d_w·d_a, acc), where the block's integer sum and the
// product of its two scales are exact. It is not the lane order of the
// one-row dots, and like ggml's it does not depend on how many tokens a
// call computes.

// TileRows is the number of weight rows in a tile.
const TileRows = 8

// tileBlockBytes is one block of a tile, the size of the eight rows' own
// blocks: their F16 scales (16 bytes), then four chunks of 32 bytes, chunk
// c holding bytes 4c..4c+3 of each row's quants in row order (the low
// nibbles are elements 4c..4c+3, the high ones 16+4c..16+4c+3).
const tileBlockBytes = TileRows * 18

// TileActivationBytes is the size of the per-block sums that
// PrepareTileActivation derives from a Q8_0 activation row of n elements.
func TileActivationBytes(n int) int { return n / 32 * 8 }

// PackQ4_0Tile packs the TileRows consecutive Q4_0 rows of n elements in w
// into dst, which has w's size, for the tile kernels.
func PackQ4_0Tile(dst, w []byte, n int) {
	rb, nb := n/32*18, n/32
	if n%32 != 0 || len(w) != TileRows*rb || len(dst) != len(w) {
		panic(fmt.Sprintf("quant: tile of %d Q4_0 rows of %d elements: got %d weight and %d tile bytes, want %d and %d",
			TileRows, n, len(w), len(dst), TileRows*rb, TileRows*rb))
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
			copy(out[2*r:2*r+2], blk[:2])
			for c := range 4 {
				copy(out[16+32*c+4*r:16+32*c+4*r+4], blk[2+4*c:2+4*c+4])
			}
		}
	}
}

// PrepareTileActivation writes, for each block of the Q8_0 activation row
// a of n elements, 8·Σq as an int32 (the correction for Q4_0's offset of
// 8) and the block's scale as a float32: the kernels' per-block inputs
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
	nb := checkTile(tile, a[:], sums[:], n)
	if nb == 0 {
		*dst = [4][TileRows]float32{}
		return
	}
	tileKernels.four(dst, tile, a, sums, nb)
}

// DotQ4_0TilePair is DotQ4_0Tile for two consecutive tiles (tiles holds
// both): dst[t][r] is row r of the sixteen. CPUs with 512-bit registers
// run both in one pass (TilePairIsOnePass); elsewhere it is two passes of
// DotQ4_0Tile, which allocate, so a caller that must not should make
// those itself.
func DotQ4_0TilePair(dst *[4][2 * TileRows]float32, tiles []byte, a, sums *[4][]byte, n int) {
	half := len(tiles) / 2
	nb := checkTile(tiles[:half], a[:], sums[:], n)
	if len(tiles) != 2*half {
		panic(fmt.Sprintf("quant: tile pair of %d elements: got %d bytes, want %d", n, len(tiles), 2*half))
	}
	if nb == 0 {
		*dst = [4][2 * TileRows]float32{}
		return
	}
	tileKernels.pairKernel()(dst, tiles, a, sums, nb)
}

// TilePairIsOnePass reports whether DotQ4_0TilePair runs both tiles in
// one pass of 512-bit registers.
func TilePairIsOnePass() bool { return tileKernels.pair != nil }

// pairKernel is the set's pair kernel, or two passes of its four-token
// one where it has none.
func (s tileSet) pairKernel() func(dst *[4][2 * TileRows]float32, tiles []byte, a, sums *[4][]byte, nb int) {
	if s.pair != nil {
		return s.pair
	}
	return func(dst *[4][2 * TileRows]float32, tiles []byte, a, sums *[4][]byte, nb int) {
		var half [4][TileRows]float32
		for h := range 2 {
			s.four(&half, tiles[h*len(tiles)/2:(h+1)*len(tiles)/2], a, sums, nb)
			for t := range half {
				copy(dst[t][h*TileRows:], half[t][:])
			}
		}
	}
}

// DotQ4_0Tile2 is DotQ4_0Tile for the first two tokens of a and sums (the
// others are not read) into dst0 and dst1, in one pass over the tile where the CPU has such a
// kernel: a two-token step (a speculative verification of one draft) then
// reads the weights once.
func DotQ4_0Tile2(dst0, dst1 *[TileRows]float32, tile []byte, a, sums *[4][]byte, n int) {
	nb := checkTile(tile, a[:2], sums[:2], n)
	if nb == 0 {
		*dst0, *dst1 = [TileRows]float32{}, [TileRows]float32{}
		return
	}
	if tileKernels.two == nil {
		tileKernels.one(dst0, tile, a[0], sums[0], nb)
		tileKernels.one(dst1, tile, a[1], sums[1], nb)
		return
	}
	tileKernels.two(dst0, dst1, tile, a, sums, nb)
}

// DotQ4_0Tile1 is DotQ4_0Tile for one token, a decode step's.
func DotQ4_0Tile1(dst *[TileRows]float32, tile, a, sums []byte, n int) {
	nb := checkTile(tile, [][]byte{a}, [][]byte{sums}, n)
	if nb == 0 {
		*dst = [TileRows]float32{}
		return
	}
	tileKernels.one(dst, tile, a, sums, nb)
}

func checkTile(tile []byte, a, sums [][]byte, n int) int {
	nb := n / 32
	if n%32 != 0 || len(tile) != nb*tileBlockBytes {
		panic(fmt.Sprintf("quant: tile dot of %d elements: got %d tile bytes, want %d", n, len(tile), nb*tileBlockBytes))
	}
	for t := range a {
		if len(a[t]) != nb*34 || len(sums[t]) != TileActivationBytes(n) {
			panic(fmt.Sprintf("quant: tile dot of %d elements: token %d has %d activation and %d sum bytes, want %d and %d",
				n, t, len(a[t]), len(sums[t]), nb*34, TileActivationBytes(n)))
		}
	}
	return nb
}

// tileSet is one implementation of the tile kernels over nb ≥ 1 blocks.
type tileSet struct {
	// two is four for the first two tokens of a and sums; nil runs one
	// twice.
	two func(dst0, dst1 *[TileRows]float32, tile []byte, a, sums *[4][]byte, nb int)
	// pair is four over two consecutive tiles (tiles holds both); nil
	// runs four twice.
	pair func(dst *[4][2 * TileRows]float32, tiles []byte, a, sums *[4][]byte, nb int)
	// group is the group kernels by token count less one (tile_group.go);
	// nil runs Go.
	group *[TileGroupTokens]groupKernel
	name  string
	four  func(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int)
	one   func(dst *[TileRows]float32, tile, a, sums []byte, nb int)
}

// groupKernel computes two tiles, the second stride bytes after the
// first, times a group of nb blocks.
type groupKernel func(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

// tileKernels is the fastest set this machine runs; every one gives
// tileGo's bits.
var tileKernels = tileSet{
	name: "go",
	four: func(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
		for t := range a {
			tileGo(&dst[t], tile, a[t], sums[t], nb)
		}
	},
	one: tileGo,
}

func tileGo(dst *[TileRows]float32, tile, a, sums []byte, nb int) {
	for r := range TileRows {
		var acc float32
		for b := range nb {
			blk := tile[b*tileBlockBytes:]
			qa := a[b*34+2 : b*34+34]
			var isum int32
			for j, q := range qa {
				isum += tileQuant(blk, r, j) * int32(int8(q))
			}
			isum -= int32(binary.LittleEndian.Uint32(sums[8*b:]))
			dw := FP16ToFP32(binary.LittleEndian.Uint16(blk[2*r:]))
			da := math.Float32frombits(binary.LittleEndian.Uint32(sums[8*b+4:]))
			acc = FMA32(float32(isum), dw*da, acc)
		}
		dst[r] = acc
	}
}

// tileQuant is element j (0..31) of row r of a tile block, as stored
// (0..15, before Q4_0's offset of 8).
func tileQuant(blk []byte, r, j int) int32 {
	w := blk[16+32*(j%16/4)+4*r+j%4]
	if j < 16 {
		return int32(w & 0x0f)
	}
	return int32(w >> 4)
}
