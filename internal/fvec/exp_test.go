package fvec

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// expMaxULP bounds ggml_v_expf's error against exp: ggml states 1.45358
// plus 0.5 ulp; over every float32 this code measured 1.9536 (x ≈ -5.1987),
// and 1.29 of the subnormal spacing below exp's normal range.
const expMaxULP = 1.96

// ulps is |got - exact| in units of the float32 spacing at exact.
func ulps(got float32, exact float64) float64 {
	a := math.Abs(float64(float32(exact)))
	spacing := 0x1p-149
	if a >= 0x1p-126 {
		_, e := math.Frexp(a)
		spacing = math.Ldexp(1, e-24)
	}
	return math.Abs(float64(got)-exact) / spacing
}

// expSample returns float32s spread over the whole range (every 4093rd bit
// pattern of each sign, so every exponent is visited many times) and the
// special values, padded to whole blocks of 8.
func expSample() []float32 {
	var xs []float32
	for _, sign := range []uint32{0, 1 << 31} {
		for b := uint32(0); b <= 0x7f800000; b += 4093 {
			xs = append(xs, math.Float32frombits(sign|b))
		}
	}
	specials := []float32{
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)),
		88.37, 88.38, 88.72, 88.73, -87.33, -87.34, -103.97, -103.98, -104, 1, -1, 0x1p-30, -0x1p-30,
	}
	xs = append(xs, specials...)
	for len(xs)%8 != 0 {
		xs = append(xs, 0)
	}
	return xs
}

// TestExpPoly: every kernel set's vector exp gives expPoly's bits (any NaN for NaN), within
// expMaxULP of exp wherever exp is finite and nonzero in float32, 0 for
// -Inf and deep underflow, +Inf for +Inf and overflow, NaN for NaN.
func TestExpPoly(t *testing.T) {
	xs := expSample()
	want := make([]float32, len(xs))
	for i, x := range xs {
		want[i] = expPoly(x)
	}
	for _, set := range kernelSets() {
		got := make([]float32, len(xs))
		set.expSum(got, xs, 0)
		for i := range xs {
			same := math.Float32bits(want[i]) == math.Float32bits(got[i])
			if !same && !(math.IsNaN(float64(want[i])) && math.IsNaN(float64(got[i]))) {
				t.Fatalf("%s: exp(%g) = %g, expPoly gives %g", set.name, xs[i], got[i], want[i])
			}
		}
	}
	var worst float64
	for i, x := range xs {
		exact := math.Exp(float64(x))
		switch {
		case math.IsNaN(float64(x)):
			require.True(t, math.IsNaN(float64(want[i])), "exp(NaN)")
		case float32(exact) == 0:
			// Below exp's subnormal range ggml flushes to 0; near its
			// edge it may still round up to the smallest subnormal.
			require.LessOrEqualf(t, want[i], float32(0x1p-149), "exp(%g)", x)
		case math.IsInf(float64(float32(exact)), 1):
			require.Truef(t, math.IsInf(float64(want[i]), 1), "exp(%g) = %g", x, want[i])
		default:
			u := ulps(want[i], exact)
			if u > expMaxULP {
				t.Fatalf("exp(%g) = %g is %.3f ulp from %g", x, want[i], u, exact)
			}
			worst = max(worst, u)
		}
	}
	t.Logf("%d values, worst %.4f ulp", len(xs), worst)
	require.Equal(t, float32(1), expPoly(0))
	require.Equal(t, float32(0), expPoly(float32(math.Inf(-1))))
	require.Equal(t, float32(0), expPoly(-104))
}

// TestExpSumTail: past the last whole block ExpSum uses a correctly rounded
// exp (libm's expf in ggml), and the sum adds each block's horizontal sum
// in float64.
func TestExpSumTail(t *testing.T) {
	for _, set := range kernelSets() {
		using(t, set)
		x := []float32{0, -1, -2, -3, -4, -5, -6, -7, -0.5, -1.5, -2.5}
		dst := make([]float32, len(x))
		sum := ExpSum(dst, x, 0)
		var want [8]float32
		for i := range want {
			want[i] = expPoly(x[i])
		}
		wantSum := float64(hsum8(&want))
		for i, v := range x[8:] {
			e := float32(math.Exp(float64(v)))
			require.Equal(t, e, dst[8+i], set.name)
			wantSum += float64(e)
		}
		require.Equal(t, want[:], dst[:8], set.name)
		require.Equal(t, wantSum, sum, set.name)
	}
}
