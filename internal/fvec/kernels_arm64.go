//go:build !purego

package fvec

// The NEON bodies of kernels_arm64.s, on every arm64 CPU (FCVTL and FMLA
// are base NEON). Pointers come from the slices the exported functions
// have checked; n is a positive multiple of the block noted in kernelSet.

//go:noescape
func dotNEON(x, y *float32, n int) float32

//go:noescape
func dotF16NEON(x *float32, y *uint16, n int) float32

//go:noescape
func axpyNEON(a float32, x, y *float32, n int)

//go:noescape
func axpyF16NEON(a float32, x *uint16, y *float32, n int)

//go:noescape
func scaleNEON(dst, x *float32, n int, a float32)

//go:noescape
func mulNEON(dst, x, y *float32, n int)

//go:noescape
func addNEON(dst, x, y *float32, n int)

//go:noescape
func sumSqNEON(x *float32, n int) float64

//go:noescape
func maxNEON(x *float32, n int) float32

//go:noescape
func expSumNEON(dst, x *float32, n int, sub float32) float64

//go:noescape
func siluMulNEON(dst, gate, up *float32, n int)

//go:noescape
func rotateNEON(dst, x, cs *float32, n int)

var neonKernels = kernelSet{
	name:    "neon",
	dot:     func(x, y []float32) float32 { return dotNEON(&x[0], &y[0], len(x)) },
	dotF16:  func(x []float32, y []uint16) float32 { return dotF16NEON(&x[0], &y[0], len(x)) },
	axpy:    func(a float32, x, y []float32) { axpyNEON(a, &x[0], &y[0], len(x)) },
	axpyF16: func(a float32, x []uint16, y []float32) { axpyF16NEON(a, &x[0], &y[0], len(x)) },
	scale:   func(dst, x []float32, a float32) { scaleNEON(&dst[0], &x[0], len(dst), a) },
	mul:     func(dst, x, y []float32) { mulNEON(&dst[0], &x[0], &y[0], len(dst)) },
	add:     func(dst, x, y []float32) { addNEON(&dst[0], &x[0], &y[0], len(dst)) },
	sumSq:   func(x []float32) float64 { return sumSqNEON(&x[0], len(x)) },
	max:     func(x []float32) float32 { return maxNEON(&x[0], len(x)) },
	expSum:  func(dst, x []float32, sub float32) float64 { return expSumNEON(&dst[0], &x[0], len(dst), sub) },
	siluMul: func(dst, gate, up []float32) { siluMulNEON(&dst[0], &gate[0], &up[0], len(dst)) },
	rotate:  func(dst, x, cs []float32) { rotateNEON(&dst[0], &x[0], &cs[0], len(dst)) },
}

// bestKernels picks the NEON bodies: every arm64 CPU has what they use.
func bestKernels() kernelSet { return neonKernels }
