package fvec

import (
	"math"

	"github.com/metalgraph/metalgraph/quant"
)

// goKernels are the portable bodies: the specification of each order, in
// plain Go, that the assembly must reproduce bit for bit.
var goKernels = kernelSet{
	name:    "go",
	dot:     dotGo,
	dotF16:  dotF16Go,
	axpy:    axpyGo,
	axpyF16: axpyF16Go,
	scale:   scaleGo,
	mul:     mulGo,
	add:     addGo,
	sumSq:   sumSqGo,
	max:     maxGo,
	expSum:  expSumGo,
	siluMul: siluMulGo,
	rotate:  rotateGo,
}

// reduce32 is GGML_F32x8_REDUCE of four 8-lane accumulators, lane l of
// accumulator a at acc[8a+l]: a0+a2 and a1+a3, then their sum, then the
// two halves, then two horizontal adds.
func reduce32(acc *[32]float32) float32 {
	var v [8]float32
	for l := range v {
		v[l] = (acc[l] + acc[16+l]) + (acc[8+l] + acc[24+l])
	}
	t := [4]float32{v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]}
	return (t[0] + t[1]) + (t[2] + t[3])
}

// hsum8 is the horizontal sum of an 8-lane register as
// ggml_vec_soft_max_f32 takes it: high half plus low half, then lanes 0+2
// and 1+3, then those two.
func hsum8(v *[8]float32) float32 {
	t := [4]float32{v[4] + v[0], v[5] + v[1], v[6] + v[2], v[7] + v[3]}
	return (t[0] + t[2]) + (t[1] + t[3])
}

func dotGo(x, y []float32) float32 {
	var acc [32]float32
	for i := 0; i < len(x); i += 32 {
		for l := range acc {
			acc[l] = quant.FMA32(x[i+l], y[i+l], acc[l])
		}
	}
	return reduce32(&acc)
}

func dotF16Go(x []float32, y []uint16) float32 {
	var acc [32]float32
	for i := 0; i < len(x); i += 32 {
		for l := range acc {
			acc[l] = quant.FMA32(x[i+l], quant.FP16ToFP32(y[i+l]), acc[l])
		}
	}
	return reduce32(&acc)
}

func axpyGo(a float32, x, y []float32) {
	for i, v := range x {
		y[i] = quant.FMA32(a, v, y[i])
	}
}

func axpyF16Go(a float32, x []uint16, y []float32) {
	for i, h := range x {
		y[i] = quant.FMA32(a, quant.FP16ToFP32(h), y[i])
	}
}

func scaleGo(dst, x []float32, a float32) {
	for i, v := range x {
		dst[i] = v * a
	}
}

func mulGo(dst, x, y []float32) {
	for i, v := range x {
		dst[i] = v * y[i]
	}
}

func addGo(dst, x, y []float32) {
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

// sumSqGo keeps 16 float64 partial sums, element i in acc[i%16], as the
// assembly's four 4-lane accumulators, and reduces them the way it does.
func sumSqGo(x []float32) float64 {
	var acc [16]float64
	for i := 0; i < len(x); i += 16 {
		for l := range acc {
			acc[l] += float64(x[i+l] * x[i+l])
		}
	}
	var s [4]float64
	for l := range s {
		s[l] = (acc[l] + acc[8+l]) + (acc[4+l] + acc[12+l])
	}
	return (s[0] + s[2]) + (s[1] + s[3])
}

func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func expSumGo(dst, x []float32, sub float32) float64 {
	var s float64
	var v [8]float32
	for i := 0; i < len(x); i += 8 {
		for l := range v {
			v[l] = expPoly(x[i+l] - sub)
		}
		copy(dst[i:i+8], v[:])
		s += float64(hsum8(&v))
	}
	return s
}

func rotateGo(dst, x, cs []float32) {
	for k := 0; k < len(dst); k += 2 {
		c, s := cs[k], cs[k+1]
		x0, x1 := x[k], x[k+1]
		dst[k] = float32(x0*c) - float32(x1*s)
		dst[k+1] = float32(x0*s) + float32(x1*c)
	}
}

func siluMulGo(dst, g, u []float32) {
	for i, x := range g {
		dst[i] = x / (1 + expPoly(0-x)) * u[i]
	}
}
