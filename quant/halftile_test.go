package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tile gives every pair the bits of the pair's own tinyBLAS dot (and
// of the Go emulation of its order), through the kernel where the CPU
// has one and through the pair loop without it.
func TestHalfTinyBLASTileBitExact(t *testing.T) {
	t.Logf("tile kernels here: F16 %v, BF16 %v", halfTiles.f16 != nil, halfTiles.bf16 != nil)
	rng := rand.New(rand.NewPCG(7, 8))
	saved := halfTiles
	defer func() { halfTiles = saved }()
	for _, kernels := range []string{"best", "none"} {
		if kernels == "none" {
			halfTiles.f16, halfTiles.bf16 = nil, nil
		}
		for trial := 0; trial < 40; trial++ {
			for _, typ := range []Type{F16, BF16} {
				n := 8 * (1 + rng.IntN(70))
				if trial%10 == 0 {
					n = 4096
				}
				var w [HalfTileRows][]byte
				var x [HalfTileTokens][]float32
				for r := range w {
					w[r], _ = randomHalfRow(rng, typ, n)
				}
				for i := range x {
					_, x[i] = randomHalfRow(rng, typ, n)
				}
				var got [HalfTileRows][HalfTileTokens]float32
				DotHalfTinyBLASTile(typ, &got, &w, &x)
				load := loadF16
				if typ == BF16 {
					load = loadBF16
				}
				for r := range w {
					for i := range x {
						want := halfTinyGo(w[r], x[i], load)
						sameFloats(t, []float32{want}, []float32{got[r][i]}, "%s kernels %s, n %d, row %d token %d", typ, kernels, n, r, i)
					}
				}
			}
		}
	}
}

func TestHalfTinyBLASTileRefusesRaggedRows(t *testing.T) {
	var w [HalfTileRows][]byte
	var x [HalfTileTokens][]float32
	for r := range w {
		w[r] = make([]byte, 2*16)
	}
	for i := range x {
		x[i] = make([]float32, 16)
	}
	x[2] = make([]float32, 8)
	var dst [HalfTileRows][HalfTileTokens]float32
	require.Panics(t, func() { DotHalfTinyBLASTile(F16, &dst, &w, &x) })
}
