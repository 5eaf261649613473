package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A tile group is the activations of up to TileGroupTokens tokens
// interleaved block by block, so that one pass over a pair of tiles
// computes every token of a speculative verification step (k+1 ≤ 8) or
// of a prefill's eight: the quants are unpacked once for all of them
// where the four-token kernels unpack them once per four tokens and once
// more for the rest.

// TileGroupTokens is the most tokens a group holds.
const TileGroupTokens = 8

// tileGroupSlot is one token's share of a group block: its 32 quants,
// −8·Σq as an int32 and its scale as a float32.
const tileGroupSlot = 40

// TileGroupBytes is the size of a group of tokens activation rows of n
// elements.
func TileGroupBytes(n, tokens int) int { return n / 32 * tokens * tileGroupSlot }

// PrepareTileGroup writes the Q8_0 activation row a of n elements as token
// slot of group, a group of tokens.
func PrepareTileGroup(group, a []byte, n, slot, tokens int) {
	nb := n / 32
	if n%32 != 0 || len(a) != nb*34 || tokens < 1 || tokens > TileGroupTokens || slot < 0 || slot >= tokens ||
		len(group) != TileGroupBytes(n, tokens) {
		panic(fmt.Sprintf("quant: tile group slot %d of %d tokens of %d elements: got %d activation and %d group bytes, want %d and %d",
			slot, tokens, n, len(a), len(group), nb*34, TileGroupBytes(n, tokens)))
	}
	for b := range nb {
		blk := a[b*34 : b*34+34]
		out := group[(b*tokens+slot)*tileGroupSlot:]
		copy(out[:32], blk[2:])
		var sum int32
		for _, q := range blk[2:] {
			sum += int32(int8(q))
		}
		binary.LittleEndian.PutUint32(out[32:], uint32(-8*sum))
		binary.LittleEndian.PutUint32(out[36:], math.Float32bits(FP16ToFP32(binary.LittleEndian.Uint16(blk))))
	}
}

// DotQ4_0TileGroup sets dst[t][r], for t < tokens, to row r of tiles (one
// packed tile, whose rows then also fill dst[t][8:], or two consecutive
// ones) times token t of group: DotQ4_0Tile1's bits for every token.
func DotQ4_0TileGroup(dst *[TileGroupTokens][2 * TileRows]float32, tiles, group []byte, tokens, n int) {
	nb := n / 32
	one := nb * tileBlockBytes
	if n%32 != 0 || (len(tiles) != one && len(tiles) != 2*one) || tokens < 1 || tokens > TileGroupTokens ||
		len(group) != TileGroupBytes(n, tokens) {
		panic(fmt.Sprintf("quant: tile group dot of %d tokens of %d elements: got %d tile and %d group bytes, want %d or %d and %d",
			tokens, n, len(tiles), len(group), one, 2*one, TileGroupBytes(n, tokens)))
	}
	if nb == 0 {
		*dst = [TileGroupTokens][2 * TileRows]float32{}
		return
	}
	stride := len(tiles) - one // 0 for one tile: it fills both halves
	if k := tileKernels.group; k != nil {
		k[tokens-1](dst, &tiles[0], stride, &group[0], nb)
		return
	}
	for h := range 2 {
		tileGroupGo(dst, tiles[h*stride:h*stride+one], group, tokens, nb, h*TileRows)
	}
}

// TileGroupIsOnePass reports whether DotQ4_0TileGroup runs in one pass of
// 512-bit registers; elsewhere it is Go, and the four-token kernels are
// faster.
func TileGroupIsOnePass() bool { return tileKernels.group != nil }

// tileGroupGo is DotQ4_0TileGroup for one tile into rows r0.. of dst.
func tileGroupGo(dst *[TileGroupTokens][2 * TileRows]float32, tile, group []byte, tokens, nb, r0 int) {
	for t := range tokens {
		for r := range TileRows {
			var acc float32
			for b := range nb {
				blk := tile[b*tileBlockBytes:]
				slot := group[(b*tokens+t)*tileGroupSlot:]
				isum := int32(binary.LittleEndian.Uint32(slot[32:]))
				for j, q := range slot[:32] {
					isum += tileQuant(blk, r, j) * int32(int8(q))
				}
				dw := FP16ToFP32(binary.LittleEndian.Uint16(blk[2*r:]))
				da := math.Float32frombits(binary.LittleEndian.Uint32(slot[36:]))
				acc = FMA32(float32(isum), dw*da, acc)
			}
			dst[t][r0+r] = acc
		}
	}
}
