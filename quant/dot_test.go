package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dotCase is a weight row of type t with its activation, ready for DotRow.
type dotCase struct {
	t   Type
	w   []byte
	act []byte
	x   []float32
	wf  []float32 // dequantised weights
	af  []float32 // the activation as the dot product sees it
}

func newDotCase(t *testing.T, typ Type, w, x []float32) dotCase {
	t.Helper()
	n := len(x)
	require.NoError(t, CheckDot(typ, n))
	c := dotCase{t: typ, x: x, wf: roundTrip(t, typ, w)}
	wb, _ := RowBytes(typ, int64(n))
	c.w = make([]byte, wb)
	require.NoError(t, QuantizeRow(typ, w, c.w))
	c.act = make([]byte, ActivationBytes(typ, n))
	require.NoError(t, QuantizeActivation(typ, x, c.act))
	c.af = make([]float32, n)
	switch vt := VecDotType(typ); vt {
	case Q8_0, Q8_K:
		require.NoError(t, DequantizeRow(vt, c.act, c.af))
	case F16:
		for i, v := range x {
			c.af[i] = FP16ToFP32(FP32ToFP16(v))
		}
	case BF16:
		for i, v := range x {
			c.af[i] = BF16ToFP32(FP32ToBF16(v))
		}
	default:
		copy(c.af, x)
	}
	return c
}

// dot64 returns Σ a·b in float64 and Σ |a·b|, the scale for tolerances.
func dot64(a, b []float32) (sum, mag float64) {
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		sum += p
		mag += math.Abs(p)
	}
	return sum, mag
}

// prodNorm is sqrt(Σ (a·b)²).
func prodNorm(a, b []float32) float64 {
	var s float64
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		s += p * p
	}
	return math.Sqrt(s)
}

// The integer dot products equal the float dot product of the dequantised
// rows up to float32 rounding, and approximate the exact dot product with
// the unquantised activations within the formats' error.
func TestDotMatchesDequantised(t *testing.T) {
	// Relative RMS error of weight and activation rounding together.
	relErr := map[Type]float64{F32: 1e-7, F16: 3e-4, BF16: 2.5e-3, Q8_0: 8e-3, Q6_K: 2e-2, Q5_K: 4e-2, Q4_K: 7.5e-2, Q4_0: 9e-2}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, typ := range weightTypes {
		for trial := 0; trial < 20; trial++ {
			n := QK_K * (1 + rng.IntN(16))
			w, x := randomRow(rng, n), randomRow(rng, n)
			if trial%4 == 1 {
				for i := range x {
					x[i] = float32(math.Abs(float64(x[i]))) + 0.5 // all positive: large bsums, no cancellation
				}
			}
			c := newDotCase(t, typ, w, x)
			got := float64(DotRow(typ, c.w, c.act, c.x))
			want, mag := dot64(c.wf, c.af)
			require.InDelta(t, want, got, 2e-6*mag, "%s n=%d trial %d: against dequantised rows", typ, n, trial)
			// The rounding errors are independent, so the dot product's
			// error is about relErr times the norm of the products.
			exact, _ := dot64(w, x)
			require.InDelta(t, exact, got, 5*relErr[typ]*prodNorm(w, x), "%s n=%d trial %d: against float rows", typ, n, trial)
		}
	}
}

// Each typed function and DotRow agree.
func TestDotRowDispatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 2 * QK_K
	w, x := randomRow(rng, n), randomRow(rng, n)
	named := map[Type]func(c dotCase) float32{
		F32:  func(c dotCase) float32 { return DotF32F32(c.w, c.x) },
		F16:  func(c dotCase) float32 { return DotF16F32(c.w, c.x) },
		BF16: func(c dotCase) float32 { return DotBF16F32(c.w, c.x) },
		Q4_0: func(c dotCase) float32 { return DotQ4_0Q8_0(c.w, c.act, n) },
		Q8_0: func(c dotCase) float32 { return DotQ8_0Q8_0(c.w, c.act, n) },
		Q4_K: func(c dotCase) float32 { return DotQ4_KQ8_K(c.w, c.act, n) },
		Q5_K: func(c dotCase) float32 { return DotQ5_KQ8_K(c.w, c.act, n) },
		Q6_K: func(c dotCase) float32 { return DotQ6_KQ8_K(c.w, c.act, n) },
	}
	for _, typ := range weightTypes {
		c := newDotCase(t, typ, w, x)
		assert.Equal(t, math.Float32bits(named[typ](c)), math.Float32bits(DotRow(typ, c.w, c.act, c.x)), "%s", typ)
	}
}

// Hand-built blocks with known integer sums pin the scale arithmetic, in
// the portable order and in ggml's AVX2 lane order alike.
func TestDotKnownValues(t *testing.T) {
	dots := []struct {
		name       string
		q4_0, q8_0 func(w, a []byte, n int) float32
	}{{"portable", DotQ4_0Q8_0, DotQ8_0Q8_0}, {"lanes", DotQ4_0Q8_0Lanes, DotQ8_0Q8_0Lanes}}
	for _, d := range dots {
		// Q4_0 block with d = 0.5 and every quant 9 (value +0.5), against
		// a Q8_0 block with d = 0.25 and every quant 2 (value 0.5): 32 ·
		// 0.25 = 8.
		w := make([]byte, 18)
		putF16(w, 0.5)
		for i := 2; i < 18; i++ {
			w[i] = 0x99
		}
		a := make([]byte, 34)
		putF16(a, 0.25)
		for i := 2; i < 34; i++ {
			a[i] = 2
		}
		assert.Equal(t, float32(8), d.q4_0(w, a, 32), d.name)

		// Q8_0 · Q8_0: quants -3 and 5, scales 2 and 0.125: 32 · -15 ·
		// 0.25 = -120.
		w8 := make([]byte, 34)
		putF16(w8, 2)
		for i := 2; i < 34; i++ {
			w8[i] = byte(0xfd) // -3
			a[i] = 5
		}
		putF16(a, 0.125)
		assert.Equal(t, float32(-120), d.q8_0(w8, a, 32), d.name)
	}
}

// Mistral-sized rows: quantising ordinary activations to Q8_K and the
// weights to every format still gives dot products near the exact one.
func TestDotLongRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	n := 14336
	w, x := randomRow(rng, n), randomRow(rng, n)
	exact, _ := dot64(w, x)
	for _, typ := range weightTypes {
		c := newDotCase(t, typ, w, x)
		got := float64(DotRow(typ, c.w, c.act, c.x))
		assert.InDelta(t, exact, got, 0.5*prodNorm(w, x), "%s", typ)
	}
}
