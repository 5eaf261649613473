//go:build !purego

package fvec

import "golang.org/x/sys/cpu"

// The AVX-512 bodies of kernels512_amd64.s, with the arguments and blocks
// of their AVX2 twins.

//go:noescape
func dotAVX512(x, y *float32, n int) float32

//go:noescape
func dotF16AVX512(x *float32, y *uint16, n int) float32

//go:noescape
func axpyAVX512(a float32, x, y *float32, n int)

//go:noescape
func axpyF16AVX512(a float32, x *uint16, y *float32, n int)

//go:noescape
func scaleAVX512(dst, x *float32, n int, a float32)

//go:noescape
func mulAVX512(dst, x, y *float32, n int)

//go:noescape
func addAVX512(dst, x, y *float32, n int)

//go:noescape
func sumSqAVX512(x *float32, n int) float64

//go:noescape
func maxAVX512(x *float32, n int) float32

//go:noescape
func expSumAVX512(dst, x *float32, n int, sub float32) float64

//go:noescape
func siluMulAVX512(dst, gate, up *float32, n int)

//go:noescape
func rotateAVX512(dst, x, cs *float32, n int)

var avx512Kernels = kernelSet{
	name:    "avx512",
	dot:     func(x, y []float32) float32 { return dotAVX512(&x[0], &y[0], len(x)) },
	dotF16:  func(x []float32, y []uint16) float32 { return dotF16AVX512(&x[0], &y[0], len(x)) },
	axpy:    func(a float32, x, y []float32) { axpyAVX512(a, &x[0], &y[0], len(x)) },
	axpyF16: func(a float32, x []uint16, y []float32) { axpyF16AVX512(a, &x[0], &y[0], len(x)) },
	scale:   func(dst, x []float32, a float32) { scaleAVX512(&dst[0], &x[0], len(dst), a) },
	mul:     func(dst, x, y []float32) { mulAVX512(&dst[0], &x[0], &y[0], len(dst)) },
	add:     func(dst, x, y []float32) { addAVX512(&dst[0], &x[0], &y[0], len(dst)) },
	sumSq:   func(x []float32) float64 { return sumSqAVX512(&x[0], len(x)) },
	max:     func(x []float32) float32 { return maxAVX512(&x[0], len(x)) },
	expSum:  func(dst, x []float32, sub float32) float64 { return expSumAVX512(&dst[0], &x[0], len(dst), sub) },
	siluMul: func(dst, gate, up []float32) { siluMulAVX512(&dst[0], &gate[0], &up[0], len(dst)) },
	rotate:  func(dst, x, cs []float32) { rotateAVX512(&dst[0], &x[0], &cs[0], len(dst)) },
}

// hasAVX512 reports AVX-512 F, with the AVX2, FMA and F16C of the 8-lane
// tails and the AVX2 bodies kept.
func hasAVX512() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
}
