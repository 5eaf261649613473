//go:build !purego

package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The AVX2 rounding of the exact products gives roundExactProducts' bytes,
// on ordinary values and on products that land on halves.
func TestExactRoundersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	x := make([]float32, QK_K)
	want, got := make([]byte, QK_K), make([]byte, QK_K)
	for trial := range 400 {
		scale := math.Ldexp(1, rng.IntN(60)-30)
		for j := range x {
			x[j] = float32(rng.NormFloat64() * scale)
			if trial%4 == 0 {
				x[j] = float32(rng.IntN(255)-127) / 2 // halves after scaling by 1
			}
		}
		// As encodeQ8_K scales: the largest magnitude becomes -127.
		var amax, maxv float32
		for _, v := range x {
			if a := abs32(v); a > amax {
				amax, maxv = a, v
			}
		}
		iscale := -127 / maxv
		if trial%4 == 0 {
			iscale = 1 // the halves stay halves
		}
		roundExactProducts(x, iscale, want)
		exactRounder(x, iscale, got)
		require.Equal(t, want, got, "trial %d", trial)
	}
}
