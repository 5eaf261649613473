package fvec

import (
	"math"

	"github.com/metalgraph/metalgraph/quant"
)

// kernelSet holds the bodies of the kernels: each takes whole blocks (the
// length noted) and the exported functions below add the tails, in the same
// scalar code for every set.
type kernelSet struct {
	name    string
	dot     func(x, y []float32) float32                // 32s
	dotF16  func(x []float32, y []uint16) float32       // 32s
	axpy    func(a float32, x, y []float32)             // 8s
	axpyF16 func(a float32, x []uint16, y []float32)    // 8s
	scale   func(dst, x []float32, a float32)           // 8s
	mul     func(dst, x, y []float32)                   // 8s
	add     func(dst, x, y []float32)                   // 8s
	sumSq   func(x []float32) float64                   // 16s
	max     func(x []float32) float32                   // 8s
	expSum  func(dst, x []float32, sub float32) float64 // 8s
	siluMul func(dst, g, u []float32)                   // 8s
	rotate  func(dst, x, cs []float32)                  // 8s
}

var active = bestKernels()

// Dot returns Σ x[i]·y[i] over len(x) elements in ggml_vec_dot_f32's AVX2
// order: four 8-lane FMA accumulators over steps of 32, reduced pairwise,
// then the remaining products added one by one, each rounded.
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	np := len(x) &^ 31
	var s float32
	if np > 0 {
		s = active.dot(x[:np], y[:np])
	}
	for i := np; i < len(x); i++ {
		s += float32(x[i] * y[i])
	}
	return s
}

// DotF16 returns Σ x[i]·y[i] for an F16 row y in ggml_vec_dot_f16's AVX2
// order: as Dot, with the remaining products added in float64. ggml rounds
// x to F16 first, which makes every product exact.
func DotF16(x []float32, y []uint16) float32 {
	y = y[:len(x)]
	np := len(x) &^ 31
	var s float64
	if np > 0 {
		s = float64(active.dotF16(x[:np], y[:np]))
	}
	for i := np; i < len(x); i++ {
		s += float64(x[i] * quant.FP16ToFP32(y[i]))
	}
	return float32(s)
}

// Axpy adds a·x[i] to y[i], fused (one rounding), for i < len(x).
func Axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	np := len(x) &^ 7
	if np > 0 {
		active.axpy(a, x[:np], y[:np])
	}
	for i := np; i < len(x); i++ {
		y[i] = quant.FMA32(a, x[i], y[i])
	}
}

// AxpyF16 adds a·x[i] to y[i], fused, for an F16 row x.
func AxpyF16(a float32, x []uint16, y []float32) {
	y = y[:len(x)]
	np := len(x) &^ 7
	if np > 0 {
		active.axpyF16(a, x[:np], y[:np])
	}
	for i := np; i < len(x); i++ {
		y[i] = quant.FMA32(a, quant.FP16ToFP32(x[i]), y[i])
	}
}

// Scale sets dst[i] = x[i]·a for i < len(dst); dst may be x.
func Scale(dst, x []float32, a float32) {
	x = x[:len(dst)]
	np := len(dst) &^ 7
	if np > 0 {
		active.scale(dst[:np], x[:np], a)
	}
	for i := np; i < len(dst); i++ {
		dst[i] = x[i] * a
	}
}

// Mul sets dst[i] = x[i]·y[i] for i < len(dst); dst may be x or y.
func Mul(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	np := len(dst) &^ 7
	if np > 0 {
		active.mul(dst[:np], x[:np], y[:np])
	}
	for i := np; i < len(dst); i++ {
		dst[i] = x[i] * y[i]
	}
}

// Add sets dst[i] = x[i]+y[i] for i < len(dst); dst may be x or y.
func Add(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	np := len(dst) &^ 7
	if np > 0 {
		active.add(dst[:np], x[:np], y[:np])
	}
	for i := np; i < len(dst); i++ {
		dst[i] = x[i] + y[i]
	}
}

// SumSq returns Σ x[i]² with each square rounded to float32 and the sum
// taken in float64, as ggml's rms_norm does. ggml adds one by one; this
// keeps 16 float64 partial sums, which differs from that by at most
// len(x)·2^-53 relative: far below the float32 the sum becomes.
func SumSq(x []float32) float64 {
	np := len(x) &^ 15
	var s float64
	if np > 0 {
		s = active.sumSq(x[:np])
	}
	for _, v := range x[np:] {
		s += float64(v * v)
	}
	return s
}

// Max returns the largest element of x, ignoring NaNs, or -Inf if there is
// none. Which zero it returns when the largest is ±0 depends on the set.
func Max(x []float32) float32 {
	np := len(x) &^ 7
	m := float32(math.Inf(-1))
	if np > 0 {
		m = active.max(x[:np])
	}
	for _, v := range x[np:] {
		if v > m {
			m = v
		}
	}
	return m
}

// ExpSum sets dst[i] = exp(x[i]-sub) for i < len(dst) and returns their
// sum, as ggml_vec_soft_max_f32 does: ggml_v_expf on whole blocks of 8,
// each block's horizontal sum added in float64, then expf on the rest.
func ExpSum(dst, x []float32, sub float32) float64 {
	x = x[:len(dst)]
	np := len(dst) &^ 7
	var s float64
	if np > 0 {
		s = active.expSum(dst[:np], x[:np], sub)
	}
	for i := np; i < len(dst); i++ {
		dst[i] = expf(x[i] - sub)
		s += float64(dst[i])
	}
	return s
}

// SiLUMul sets dst[i] = silu(g[i])·u[i], silu(x) = x/(1+exp(-x)), as
// ggml's silu followed by its mul: ggml_v_silu on whole blocks of 8, expf
// on the rest. dst may be g or u.
func SiLUMul(dst, g, u []float32) {
	g, u = g[:len(dst)], u[:len(dst)]
	np := len(dst) &^ 7
	if np > 0 {
		active.siluMul(dst[:np], g[:np], u[:np])
	}
	for i := np; i < len(dst); i++ {
		dst[i] = g[i] / (1 + expf(-g[i])) * u[i]
	}
}

// Rotate turns the pairs (x[2k], x[2k+1]) of x by the angles whose cosine
// and sine are cs[2k] and cs[2k+1], into dst, as ggml's rope does: each
// product rounded, then the difference and the sum. len(dst) is even; dst
// may be x.
func Rotate(dst, x, cs []float32) {
	if len(dst)%2 != 0 {
		panic("fvec: Rotate needs whole pairs")
	}
	x, cs = x[:len(dst)], cs[:len(dst)]
	np := len(dst) &^ 7
	if np > 0 {
		active.rotate(dst[:np], x[:np], cs[:np])
	}
	rotateGo(dst[np:], x[np:], cs[np:])
}

// expf is a correctly rounded float32 exp (libm's expf, in all but rare
// double-rounding cases).
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
