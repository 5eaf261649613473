package quant

import (
	"encoding/binary"
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

// tileKernels are the implementations to test: Go's and this machine's.
func tileKernels() map[string]func(*[4][TileRows]float32, []byte, *[4][]byte, *[4][]byte, int) {
	return map[string]func(*[4][TileRows]float32, []byte, *[4][]byte, *[4][]byte, int){"go": tileGo, "best": tileKernel}
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
			tile := make([]byte, TileBytes(n))
			PackQ4_0Tile(tile, w, n)
			var a, sums [4][]byte
			tokens := 1 + trial%4 // fewer than four tokens repeat the last
			for tk := range 4 {
				src := min(tk, tokens-1)
				a[tk] = acts[src*n/32*34 : (src+1)*n/32*34]
				sums[tk] = make([]byte, TileActivationBytes(n))
				PrepareTileActivation(sums[tk], a[tk], n)
			}
			for name, kernel := range tileKernels() {
				var got [4][TileRows]float32
				kernel(&got, tile, &a, &sums, n/32)
				for tk := range 4 {
					for r := range TileRows {
						want := tileRef(w, r, a[tk], n)
						require.True(t, sameFloat(want, got[tk][r]), "%s n=%d trial %d token %d row %d: %g, want %g", name, n, trial, tk, r, got[tk][r], want)
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
	tile := make([]byte, TileBytes(n))
	PackQ4_0Tile(tile, w, n)
	var got [4][TileRows]float32
	DotQ4_0Tile(&got, tile, &[4][]byte{a, a, a, a}, &[4][]byte{sums, sums, sums, sums}, n)
	for r := range TileRows {
		want := DotQ4_0Q8_0(w[r*n/32*18:(r+1)*n/32*18], a, n)
		assert.InDelta(t, want, got[0][r], 1e-4*math.Abs(float64(want))+1e-3, "row %d", r)
		assert.Equal(t, got[0][r], got[3][r], "row %d: every token slot computes the same", r)
	}
}

func TestTileRefusesWrongSizes(t *testing.T) {
	const n = 64
	tile, w := make([]byte, TileBytes(n)), make([]byte, TileRows*n/32*18)
	assert.Panics(t, func() { PackQ4_0Tile(tile, w[1:], n) })
	assert.Panics(t, func() { PackQ4_0Tile(tile[1:], w, n) })
	assert.Panics(t, func() { PackQ4_0Tile(tile, w, n+16) })
	a, sums := make([]byte, n/32*34), make([]byte, TileActivationBytes(n))
	assert.Panics(t, func() { PrepareTileActivation(sums, a[2:], n) })
	var dst [4][TileRows]float32
	assert.Panics(t, func() { DotQ4_0Tile(&dst, tile, &[4][]byte{a, a, a, a[1:]}, &[4][]byte{sums, sums, sums, sums}, n) })
	assert.Panics(t, func() { DotQ4_0Tile(&dst, tile[:10], &[4][]byte{a, a, a, a}, &[4][]byte{sums, sums, sums, sums}, n) })
}

// BenchmarkTileQ4_0 times four tokens through a 4096×4096 Q4_0 matrix
// packed in tiles, as a prefill's mat-mat does (packing excluded, as it
// is shared by every token of a prefill); bytes are weight bytes, so
// GB/s ÷ 4 compares with one token's mat-vec. Tokens4 is the same work
// through the lane-order four-token dot.
func BenchmarkTileQ4_0(b *testing.B) {
	const rows = benchN
	w, a := benchWeights(Q4_0, rows), benchActivations(b, 4)
	wb, ab := len(w)/rows, len(a)/4
	tiles := make([]byte, rows/TileRows*TileBytes(benchN))
	tb := TileBytes(benchN)
	for g := range rows / TileRows {
		PackQ4_0Tile(tiles[g*tb:(g+1)*tb], w[g*TileRows*wb:(g+1)*TileRows*wb], benchN)
	}
	var acts, sums [4][]byte
	for t := range acts {
		acts[t] = a[t*ab : (t+1)*ab]
		sums[t] = make([]byte, TileActivationBytes(benchN))
		PrepareTileActivation(sums[t], acts[t], benchN)
	}
	macs := float64(4 * rows * benchN)
	b.Run("tile", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		var dst [4][TileRows]float32
		for b.Loop() {
			for g := range rows / TileRows {
				DotQ4_0Tile(&dst, tiles[g*tb:(g+1)*tb], &acts, &sums, benchN)
			}
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
	b.Run("tokens4", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		y := make([]float32, 4)
		for b.Loop() {
			for r := range rows {
				DotQ4_0Q8_0Tokens(y, w[r*wb:(r+1)*wb], a, benchN)
			}
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
}

func TestTilePackersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, n := range []int{32, 96, 4096} {
		w := randomBlocks(rng, Q4_0, TileRows*n/32)
		want, got := make([]byte, TileBytes(n)), make([]byte, TileBytes(n))
		packQ4_0TileGo(want, w, n/32)
		tilePacker(got, w, n/32)
		require.Equal(t, want, got, "n=%d", n)
	}
}
