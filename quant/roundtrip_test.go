package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// weightTypes are the types QuantizeRow writes for model weights.
var weightTypes = []Type{F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K}

func randomRow(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func roundTrip(t *testing.T, typ Type, x []float32) []float32 {
	t.Helper()
	nb, err := RowBytes(typ, int64(len(x)))
	require.NoError(t, err)
	buf := make([]byte, nb)
	require.NoError(t, QuantizeRow(typ, x, buf))
	y := make([]float32, len(x))
	require.NoError(t, DequantizeRow(typ, buf, y))
	return y
}

func rmsErr(x, y []float32) (rmsX, rmsE float64) {
	for i := range x {
		rmsX += float64(x[i]) * float64(x[i])
		d := float64(x[i]) - float64(y[i])
		rmsE += d * d
	}
	return math.Sqrt(rmsX / float64(len(x))), math.Sqrt(rmsE / float64(len(x)))
}

// The relative RMS error of each format on Gaussian data lies in a narrow
// band: a layout or scale bug moves it far outside.
func TestRoundTripError(t *testing.T) {
	bands := map[Type][2]float64{
		F32:  {0, 0},
		F16:  {1.5e-4, 2.6e-4},
		BF16: {1.2e-3, 2.1e-3},
		Q8_0: {4.5e-3, 6.5e-3},
		Q6_K: {1.5e-2, 2.1e-2},
		Q5_K: {3e-2, 4.2e-2},
		Q4_K: {6e-2, 8.5e-2},
		Q4_0: {7.5e-2, 1e-1},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := randomRow(rng, 8192)
	for _, typ := range weightTypes {
		rx, re := rmsErr(x, roundTrip(t, typ, x))
		band := bands[typ]
		assert.True(t, re/rx >= band[0] && re/rx <= band[1], "%s: relative RMS error %.3g outside [%g, %g]", typ, re/rx, band[0], band[1])
	}
}

// Per-element bounds that follow from each block format.
func TestRoundTripBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomRow(rng, 4096)
	for i := range x {
		x[i] *= float32(math.Exp(rng.Float64()*8 - 4)) // blocks of very different scales
	}
	t.Run("Q8_0", func(t *testing.T) {
		y := roundTrip(t, Q8_0, x)
		for b := 0; b < len(x); b += 32 {
			var amax float64
			for _, v := range x[b : b+32] {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			d := amax / 127
			// half a step, plus the F16 rounding of d times at most 127 steps
			bound := 0.5*d + 127*d/2048
			for i := b; i < b+32; i++ {
				require.LessOrEqual(t, math.Abs(float64(x[i]-y[i])), bound, "element %d", i)
			}
		}
	})
	t.Run("Q4_0", func(t *testing.T) {
		y := roundTrip(t, Q4_0, x)
		for b := 0; b < len(x); b += 32 {
			var amax float64
			for _, v := range x[b : b+32] {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			d := amax / 8
			// The largest element maps to -8 exactly; the other side of the
			// range clips at +7, one step short.
			bound := d * (1 + 8.0/2048)
			for i := b; i < b+32; i++ {
				require.LessOrEqual(t, math.Abs(float64(x[i]-y[i])), bound, "element %d", i)
			}
		}
	})
	t.Run("F16", func(t *testing.T) {
		xs := []float32{0.1, -3.75, 1e-4, 60000}
		y := roundTrip(t, F16, xs)
		for i := range xs {
			assert.InEpsilon(t, xs[i], y[i], 1.0/1024, "element %d", i)
		}
	})
	t.Run("F32", func(t *testing.T) {
		assert.Equal(t, x, roundTrip(t, F32, x))
	})
}

// All-zero and constant rows, and rows whose largest element is negative,
// decode sensibly in every format.
func TestRoundTripSpecialRows(t *testing.T) {
	n := 512
	zero := make([]float32, n)
	for _, typ := range weightTypes {
		assert.Equal(t, zero, roundTrip(t, typ, zero), "%s zeros", typ)
	}
	constant := make([]float32, n)
	negative := make([]float32, n)
	for i := range constant {
		constant[i] = 0.75
		negative[i] = -0.5 + float32(i%7)*0.01
	}
	for _, typ := range weightTypes {
		for name, x := range map[string][]float32{"constant": constant, "negative": negative} {
			_, re := rmsErr(x, roundTrip(t, typ, x))
			assert.Less(t, re, 0.05, "%s %s row", typ, name)
		}
	}
}

// Q8_K (activations for K-quants) keeps the scale in float32 and the sums
// of each 16 quants, which the K-quant dot products rely on.
func TestQuantizeQ8_K(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randomRow(rng, 2*QK_K)
	x[300] = -9 // the largest magnitude is negative in the second block
	buf := make([]byte, 2*292)
	require.NoError(t, QuantizeQ8_K(x, buf))
	for b := 0; b < 2; b++ {
		blk := buf[292*b : 292*b+292]
		d := q8KScale(blk)
		var amax float32
		for _, v := range x[QK_K*b : QK_K*b+QK_K] {
			amax = max(amax, abs32(v))
		}
		assert.InEpsilon(t, amax/127, abs32(d), 1e-6)
		for j := 0; j < 16; j++ {
			var sum int
			for _, q := range blk[4+16*j : 4+16*j+16] {
				sum += int(int8(q))
			}
			assert.Equal(t, sum, int(int16(uint16(blk[260+2*j])|uint16(blk[261+2*j])<<8)), "block %d bsum %d", b, j)
		}
	}
	assert.Equal(t, int8(-127), int8(buf[292+4+300-QK_K]), "the largest magnitude maps to ±127, sign kept")
	y := make([]float32, len(x))
	require.NoError(t, DequantizeRow(Q8_K, buf, y))
	for i := range x {
		d := abs32(q8KScale(buf[292*(i/QK_K):]))
		require.LessOrEqual(t, abs32(x[i]-y[i]), d*0.5001, "element %d", i)
	}

	zero := make([]byte, 292)
	for i := range zero {
		zero[i] = 0xff
	}
	require.NoError(t, QuantizeQ8_K(make([]float32, QK_K), zero))
	assert.Equal(t, make([]byte, 292), zero, "an all-zero block clears scale, quants and sums")
}

// Q8_0 activations round halves away from zero, like roundf in ggml.
func TestQuantizeQ8_0Rounding(t *testing.T) {
	x := make([]float32, 32)
	x[0] = 127 // d = 1 exactly
	x[1] = 2.5
	x[2] = -2.5
	x[3] = 3.5
	x[4] = -0.49
	x[5] = -126.5
	x[6] = 0.49999997 // just below a half: 0 (adding 0.5 would round up to 1)
	x[7] = -0.5
	buf := make([]byte, 34)
	require.NoError(t, QuantizeQ8_0(x, buf))
	assert.Equal(t, uint16(0x3c00), uint16(buf[0])|uint16(buf[1])<<8, "d = 1.0 as F16")
	assert.Equal(t, []int8{127, 3, -3, 4, 0, -127, 0, -1}, int8s(buf[2:10]))
}

// A block too small for a finite 1/d gets zero quants on every machine
// (ggml's would come from converting ±Inf and NaN to int8).
func TestQuantizeQ8_0TinyBlock(t *testing.T) {
	x := make([]float32, 32)
	x[0], x[1], x[2] = 3e-37, -1e-37, 1e-45
	buf := make([]byte, 34)
	require.NoError(t, QuantizeQ8_0(x, buf))
	assert.Equal(t, make([]byte, 34), buf, "F16 scale 0 and zero quants")
}

func int8s(b []byte) []int8 {
	q := make([]int8, len(b))
	for i, v := range b {
		q[i] = int8(v)
	}
	return q
}
