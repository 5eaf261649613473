//go:build (amd64 || arm64) && !purego

package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The assembly rounding of the exact products (AVX2, NEON) gives
// roundExactProducts' bytes, on ordinary values and on products that land
// on halves.
func TestExactRoundersAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	x := make([]float32, QK_K)
	want, got := make([]byte, QK_K), make([]byte, QK_K)
	for trial := range 400 {
		scale := math.Ldexp(1, rng.IntN(60)-30)
		for j := range x {
			x[j] = float32(rng.NormFloat64() * scale)
			if trial%4 == 0 || trial%4 == 1 {
				x[j] = float32(rng.IntN(255)-127) / 2 // halves after scaling by 1
			}
			if trial%4 == 1 {
				x[j] = float32(math.Ldexp(float64(x[j]), -(trial % 20))) // halves after scaling by 2^(trial%20)
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
		switch trial % 4 {
		case 0:
			iscale = 1 // the halves stay halves
		case 1:
			iscale = float32(math.Ldexp(1, trial%20))
		}
		roundExactProducts(x, iscale, want)
		exactRounder(x, iscale, got)
		require.Equal(t, want, got, "trial %d", trial)
	}
}

// The exact products round half to even and keep their bits below the
// float32 rounding: iscale 3 times these floats lands just off halves,
// where float32 products would land on them. Every rounding lane of a
// 16-wide step is covered.
func TestExactRoundingTiesToEven(t *testing.T) {
	for _, c := range []struct {
		iscale float32
		x      []float32
		want   []int8
	}{
		{1,
			[]float32{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5, 127.5, -127.5, 0, 3.25, -3.75, 63.5, -64.5, 7},
			[]int8{0, 2, 2, 0, -2, -2, 126, -126, 127, -128, 0, 3, -4, 64, -64, 7}},
		{3,
			[]float32{0.8333334, 0.8333333, 0.16666667, 1.8333333, -2.1666667, 1.1666666, 0.5, -0.8333334,
				-0.8333333, 1.1666667, -0.16666667, 42.166668, -1.8333333, 2.1666667, 0.16666666, -0.5},
			[]int8{3, 2, 1, 5, -7, 3, 2, -3, -2, 4, -1, 127, -5, 7, 0, -2}},
	} {
		got := make([]byte, len(c.x))
		exactRounder(c.x, c.iscale, got)
		for j, q := range got {
			require.Equal(t, c.want[j], int8(q), "iscale %v, x[%d] = %v", c.iscale, j, c.x[j])
		}
	}
}

// The rounding of one Q8_K block's products: the Go loop against the
// assembly (under qemu the NEON figures say nothing of real cores).
func BenchmarkExactRounders(b *testing.B) {
	rng := rand.New(rand.NewPCG(63, 64))
	x := make([]float32, QK_K)
	for j := range x {
		x[j] = float32(rng.NormFloat64())
	}
	qs := make([]byte, QK_K)
	for name, round := range map[string]func([]float32, float32, []byte){"go": roundExactProducts, "asm": exactRounder} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * QK_K)
			for b.Loop() {
				round(x, 31.5, qs)
			}
		})
	}
}
