package fvec

import (
	"math"

	"github.com/metalgraph/metalgraph/quant"
)

// Constants of ggml_v_expf (from ARM's optimized-routines expf): x·log2(e)
// is rounded to an integer n by adding and subtracting 1.5·2^23, ln 2 is
// split in two for an accurate reduction b = x - n·ln 2, and a degree-5
// polynomial gives exp(b) - 1.
const (
	expShift = 0x1.8p23
	expLog2E = 0x1.715476p+0
	expLn2Hi = 0x1.62e4p-1
	expLn2Lo = 0x1.7f7d1cp-20
	expP0    = 0x1.0e4020p-7
	expP1    = 0x1.573e2ep-5
	expP2    = 0x1.555e66p-3
	expP3    = 0x1.fffdb6p-2
	expP4    = 0x1.ffffecp-1
)

// expPoly is one lane of ggml_v_expf: 2^n·(1+poly(b)), with the scale split
// in two factors when 2^n alone would overflow or underflow (|n| > 126),
// and a flush to 0 or +Inf beyond |n| > 192. NaN stays NaN.
func expPoly(x float32) float32 {
	fma := quant.FMA32
	z := fma(x, expLog2E, expShift)
	n := z - expShift
	b := fma(-n, expLn2Lo, fma(-n, expLn2Hi, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma(fma(fma(expP0, b, expP1), u, fma(expP2, b, expP3)), u, float32(expP4*b))
	if !(abs32(n) > 126) {
		return fma(k, j, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	if abs32(n) > 192 {
		return s1 * s1
	}
	s2 := math.Float32frombits(e - g)
	return fma(s2, j, s2) * s1
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
