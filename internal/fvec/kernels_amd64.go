//go:build !purego

package fvec

import "golang.org/x/sys/cpu"

// The AVX2 bodies of kernels_amd64.s. Pointers come from the slices the
// exported functions have checked; n is a positive multiple of the block
// noted in kernelSet.

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func dotF16AVX2(x *float32, y *uint16, n int) float32

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

//go:noescape
func axpyF16AVX2(a float32, x *uint16, y *float32, n int)

//go:noescape
func scaleAVX2(dst, x *float32, n int, a float32)

//go:noescape
func mulAVX2(dst, x, y *float32, n int)

//go:noescape
func addAVX2(dst, x, y *float32, n int)

//go:noescape
func sumSqAVX2(x *float32, n int) float64

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func expSumAVX2(dst, x *float32, n int, sub float32) float64

//go:noescape
func siluMulAVX2(dst, gate, up *float32, n int)

//go:noescape
func rotateAVX2(dst, x, cs *float32, n int)

var avx2Kernels = kernelSet{
	name:    "avx2",
	dot:     func(x, y []float32) float32 { return dotAVX2(&x[0], &y[0], len(x)) },
	dotF16:  func(x []float32, y []uint16) float32 { return dotF16AVX2(&x[0], &y[0], len(x)) },
	axpy:    func(a float32, x, y []float32) { axpyAVX2(a, &x[0], &y[0], len(x)) },
	axpyF16: func(a float32, x []uint16, y []float32) { axpyF16AVX2(a, &x[0], &y[0], len(x)) },
	scale:   func(dst, x []float32, a float32) { scaleAVX2(&dst[0], &x[0], len(dst), a) },
	mul:     func(dst, x, y []float32) { mulAVX2(&dst[0], &x[0], &y[0], len(dst)) },
	add:     func(dst, x, y []float32) { addAVX2(&dst[0], &x[0], &y[0], len(dst)) },
	sumSq:   func(x []float32) float64 { return sumSqAVX2(&x[0], len(x)) },
	max:     func(x []float32) float32 { return maxAVX2(&x[0], len(x)) },
	expSum:  func(dst, x []float32, sub float32) float64 { return expSumAVX2(&dst[0], &x[0], len(dst), sub) },
	siluMul: func(dst, gate, up []float32) { siluMulAVX2(&dst[0], &gate[0], &up[0], len(dst)) },
	rotate:  func(dst, x, cs []float32) { rotateAVX2(&dst[0], &x[0], &cs[0], len(dst)) },
}

// bestKernels picks the AVX-512 assembly where the CPU (and OS) support
// it, else the AVX2 assembly where they support AVX2, FMA and F16C.
func bestKernels() kernelSet {
	if hasAVX512() {
		return avx512Kernels
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		return avx2Kernels
	}
	return goKernels
}
