package quant

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tileRef is the tile order written out from the unpacked blocks, with
// math/big for the fused multiply-adds: the specification of the kernels.
func tileRef(w []byte, row int, a []byte, n int) float32 {
	rb := n / 32 * 18
	var acc float32
	for b := 0; b < n/32; b++ {
		wb := w[row*rb+b*18:]
		ab := a[b*34:]
		var isum int32
		for j := range 32 {
			q := int32(wb[2+j%16] & 0x0f)
			if j >= 16 {
				q = int32(wb[2+j%16] >> 4)
			}
			isum += (q - 8) * int32(int8(ab[2+j]))
		}
		dw := FP16ToFP32(binary.LittleEndian.Uint16(wb))
		da := FP16ToFP32(binary.LittleEndian.Uint16(ab))
		acc = fmaExact(float32(isum), dw*da, acc)
	}
	return acc
}

func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// archTileSets are the assembly tile sets of this architecture that the
// machine runs besides tileKernels (an architecture's test file sets them).
var archTileSets []tileSet

// tileSets are the implementations to test: Go's, this machine's best and
// the other sets it runs.
func tileSets() map[string]tileSet {
	sets := map[string]tileSet{"go": {one: tileGo, four: func(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
		for t := range a {
			tileGo(&dst[t], tile, a[t], sums[t], nb)
		}
	}}, "best": tileKernels}
	for _, set := range archTileSets {
		sets[set.name] = set
	}
	return sets
}

func TestTileKernelsFollowTheTileOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{32, 64, 96, 256, 1024} {
		for trial := range 12 {
			w := randomBlocks(rng, Q4_0, TileRows*n/32)
			acts := randomBlocks(rng, Q8_0, 4*n/32)
			if trial%3 == 0 {
				// Moderate scales, where sums are ordinary numbers.
				for i := 0; i < len(w); i += 18 {
					binary.LittleEndian.PutUint16(w[i:], FP32ToFP16(float32(rng.Float64()*0.01+1e-4)))
				}
				for i := 0; i < len(acts); i += 34 {
					binary.LittleEndian.PutUint16(acts[i:], FP32ToFP16(float32(rng.Float64()*0.1+1e-3)))
				}
			}
			tile := make([]byte, len(w))
			PackQ4_0Tile(tile, w, n)
			next := make([]byte, len(w))
			PackQ4_0Tile(next, randomBlocks(rng, Q4_0, TileRows*n/32), n)
			var a, sums [4][]byte
			tokens := 1 + trial%4 // fewer than four tokens repeat the last
			for tk := range 4 {
				src := min(tk, tokens-1)
				a[tk] = acts[src*n/32*34 : (src+1)*n/32*34]
				sums[tk] = make([]byte, TileActivationBytes(n))
				PrepareTileActivation(sums[tk], a[tk], n)
			}
			for name, set := range tileSets() {
				var four [4][TileRows]float32
				set.four(&four, tile, &a, &sums, n/32)
				// The pair kernel over this tile and the next one.
				var pair, second [4][2 * TileRows]float32
				set.pairKernel()(&pair, append(append([]byte(nil), tile...), next...), &a, &sums, n/32)
				var four2 [4][TileRows]float32
				set.four(&four2, next, &a, &sums, n/32)
				for tk := range 4 {
					copy(second[tk][:], four[tk][:])
					copy(second[tk][TileRows:], four2[tk][:])
					for r := range 2 * TileRows {
						require.True(t, sameFloat(second[tk][r], pair[tk][r]), "%s pair n=%d token %d row %d", name, n, tk, r)
					}
				}
				if set.two != nil {
					var two [2][TileRows]float32
					set.two(&two[0], &two[1], tile, &a, &sums, n/32)
					for tk := range 2 {
						for r := range TileRows {
							require.True(t, sameFloat(four[tk][r], two[tk][r]), "%s two n=%d token %d row %d", name, n, tk, r)
						}
					}
				}
				for tk := range 4 {
					var one [TileRows]float32
					set.one(&one, tile, a[tk], sums[tk], n/32)
					for r := range TileRows {
						want := tileRef(w, r, a[tk], n)
						require.True(t, sameFloat(want, four[tk][r]), "%s four n=%d trial %d token %d row %d: %g, want %g", name, n, trial, tk, r, four[tk][r], want)
						require.True(t, sameFloat(want, one[r]), "%s one n=%d trial %d token %d row %d: %g, want %g", name, n, trial, tk, r, one[r], want)
					}
				}
			}
		}
	}
}

// The tile order is another rounding of the same dot product.
func TestTileDotIsTheQ4_0Dot(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const n = 4096
	x := make([]float32, TileRows*n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	w := make([]byte, TileRows*n/32*18)
	require.NoError(t, QuantizeRow(Q4_0, x, w))
	a := make([]byte, n/32*34)
	require.NoError(t, QuantizeQ8_0Lanes(x[:n], a))
	sums := make([]byte, TileActivationBytes(n))
	PrepareTileActivation(sums, a, n)
	tile := make([]byte, len(w))
	PackQ4_0Tile(tile, w, n)
	var four [4][TileRows]float32
	DotQ4_0Tile(&four, tile, &[4][]byte{a, a, a, a}, &[4][]byte{sums, sums, sums, sums}, n)
	var one [TileRows]float32
	DotQ4_0Tile1(&one, tile, a, sums, n)
	for r := range TileRows {
		want := DotQ4_0Q8_0(w[r*n/32*18:(r+1)*n/32*18], a, n)
		assert.InDelta(t, want, four[0][r], 1e-4*math.Abs(float64(want))+1e-3, "row %d", r)
		assert.Equal(t, four[0][r], four[3][r], "row %d: every token slot computes the same", r)
		assert.Equal(t, four[0][r], one[r], "row %d: one token or four, the same bits", r)
	}
}

func TestTileRefusesWrongSizes(t *testing.T) {
	const n = 64
	w := make([]byte, TileRows*n/32*18)
	tile := make([]byte, len(w))
	assert.Panics(t, func() { PackQ4_0Tile(tile, w[1:], n) })
	assert.Panics(t, func() { PackQ4_0Tile(tile[1:], w, n) })
	assert.Panics(t, func() { PackQ4_0Tile(tile, w, n+16) })
	a, sums := make([]byte, n/32*34), make([]byte, TileActivationBytes(n))
	assert.Panics(t, func() { PrepareTileActivation(sums, a[2:], n) })
	var dst [4][TileRows]float32
	assert.Panics(t, func() { DotQ4_0Tile(&dst, tile, &[4][]byte{a, a, a, a[1:]}, &[4][]byte{sums, sums, sums, sums}, n) })
	assert.Panics(t, func() { DotQ4_0Tile(&dst, tile[:10], &[4][]byte{a, a, a, a}, &[4][]byte{sums, sums, sums, sums}, n) })
	var one [TileRows]float32
	assert.Panics(t, func() { DotQ4_0Tile1(&one, tile, a, sums[1:], n) })
}

func TestTilePackersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, n := range []int{32, 96, 4096} {
		w := randomBlocks(rng, Q4_0, TileRows*n/32)
		want, got := make([]byte, len(w)), make([]byte, len(w))
		packQ4_0TileGo(want, w, n/32)
		tilePacker(got, w, n/32)
		require.Equal(t, want, got, "n=%d", n)
	}
}

// BenchmarkTileQ4_0 times a 4096×4096 Q4_0 matrix packed in tiles (packing
// excluded: it is done once per weight): one token, as decoding does, and
// four, one tile or two at a time, and groups of 4, 5 and 8 tokens two
// tiles at a time (bytes are weight bytes either way). Rows is the same one token
// through the lane-order four-row dot, Tokens4 four tokens through the
// lane-order four-token dot.
func BenchmarkTileQ4_0(b *testing.B) {
	const rows = benchN
	w, a := benchWeights(Q4_0, rows), benchActivations(b, 4)
	wb, ab := len(w)/rows, len(a)/4
	tiles := make([]byte, len(w))
	tb := TileRows * wb
	for g := range rows / TileRows {
		PackQ4_0Tile(tiles[g*tb:(g+1)*tb], w[g*tb:(g+1)*tb], benchN)
	}
	var acts, sums [4][]byte
	for t := range acts {
		acts[t] = a[t*ab : (t+1)*ab]
		sums[t] = make([]byte, TileActivationBytes(benchN))
		PrepareTileActivation(sums[t], acts[t], benchN)
	}
	run := func(name string, tokens int, f func()) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				f()
			}
			b.ReportMetric(float64(tokens*rows*benchN)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
	var four [4][TileRows]float32
	var one [TileRows]float32
	run("tile1", 1, func() {
		for g := range rows / TileRows {
			DotQ4_0Tile1(&one, tiles[g*tb:(g+1)*tb], acts[0], sums[0], benchN)
		}
	})
	run("tile4", 4, func() {
		for g := range rows / TileRows {
			DotQ4_0Tile(&four, tiles[g*tb:(g+1)*tb], &acts, &sums, benchN)
		}
	})
	var pair [4][2 * TileRows]float32
	run("pair4", 4, func() {
		for g := 0; g < rows/TileRows; g += 2 {
			DotQ4_0TilePair(&pair, tiles[g*tb:(g+2)*tb], &acts, &sums, benchN)
		}
	})
	if TileGroupIsOnePass() {
		for _, tokens := range []int{4, 5, 8} {
			acts := benchActivations(b, tokens)
			group := make([]byte, TileGroupBytes(benchN, tokens))
			for s := range tokens {
				PrepareTileGroup(group, acts[s*ab:(s+1)*ab], benchN, s, tokens)
			}
			var dst [TileGroupTokens][2 * TileRows]float32
			run(fmt.Sprintf("group%d", tokens), tokens, func() {
				for g := 0; g < rows/TileRows; g += 2 {
					DotQ4_0TileGroup(&dst, tiles[g*tb:(g+2)*tb], group, tokens, benchN)
				}
			})
		}
	}
	y := make([]float32, rows)
	run("rows", 1, func() { DotQ4_0Q8_0Rows(y, w, acts[0], benchN) })
	run("tokens4", 4, func() {
		for r := range rows {
			DotQ4_0Q8_0Tokens(y[:4], w[r*wb:(r+1)*wb], a, benchN)
		}
	})
}

// BenchmarkPackQ4_0Tile times packing a 4096×4096 Q4_0 matrix into tiles,
// once through this machine's packer and once through Go's.
func BenchmarkPackQ4_0Tile(b *testing.B) {
	w := benchWeights(Q4_0, benchN)
	tiles := make([]byte, len(w))
	tb := len(w) / benchN * TileRows
	for name, pack := range map[string]func(dst, w []byte, nb int){"best": tilePacker, "go": packQ4_0TileGo} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				for g := range benchN / TileRows {
					pack(tiles[g*tb:(g+1)*tb], w[g*tb:(g+1)*tb], benchN/32)
				}
			}
		})
	}
}
