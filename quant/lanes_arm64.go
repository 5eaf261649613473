//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The NEON kernels of lanes_arm64.s, each in two forms: SDOT needs the
// dot-product extension (FEAT_DotProd, which Apple Silicon has), NEON runs
// on every arm64 CPU. Pointers and counts come from the checked slices of
// the wrappers below; nb is at least 1.

//go:noescape
func dotQ4_0Q8_0SDOT(w, a *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0NEON(w, a *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0Rows4SDOT(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_0Q8_0Rows4NEON(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_0Q8_0Tokens4SDOT(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ4_0Q8_0Tokens4NEON(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ8_0Q8_0SDOT(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0Q8_0NEON(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0Q8_0Rows4SDOT(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ8_0Q8_0Rows4NEON(dst *[4]float32, w *byte, stride int, a *byte, nb int)

// quantizeQ8_0NEON quantises nb blocks as quantQ8_0 or, with evenHalves,
// as quantQ8_0Lanes. It needs no extension.
//
//go:noescape
func quantizeQ8_0NEON(x *float32, dst *byte, nb int, evenHalves bool)

// armDots are the assembly dot kernels of one form.
type armDots struct {
	q4One     func(w, a *byte, nb int) float32
	q4Rows4   func(dst *[4]float32, w *byte, stride int, a *byte, nb int)
	q4Tokens4 func(dst *[4]float32, w, a *byte, stride int, nb int)
	q8One     func(w, a *byte, nb int) float32
	q8Rows4   func(dst *[4]float32, w *byte, stride int, a *byte, nb int)
}

var (
	dotprodKernels = armKernels("dotprod", armDots{
		dotQ4_0Q8_0SDOT, dotQ4_0Q8_0Rows4SDOT, dotQ4_0Q8_0Tokens4SDOT, dotQ8_0Q8_0SDOT, dotQ8_0Q8_0Rows4SDOT})
	neonKernels = armKernels("neon", armDots{
		dotQ4_0Q8_0NEON, dotQ4_0Q8_0Rows4NEON, dotQ4_0Q8_0Tokens4NEON, dotQ8_0Q8_0NEON, dotQ8_0Q8_0Rows4NEON})
)

// armKernels makes a kernel set of d and the NEON quantiser. It starts
// from goKernels, so that anything without an arm64 kernel stays in Go.
func armKernels(name string, d armDots) laneKernels {
	ks := goKernels
	ks.name = name
	ks.q4_0 = laneDot{
		one: func(w, a []byte) float32 { return d.q4One(&w[0], &a[0], len(a)/34) },
		rows4: func(dst *[4]float32, w []byte, stride int, a []byte) {
			d.q4Rows4(dst, &w[0], stride, &a[0], len(a)/34)
		},
		tokens4: func(dst *[4]float32, w, a []byte, stride int) {
			d.q4Tokens4(dst, &w[0], &a[0], stride, stride/34)
		},
	}
	ks.q8_0 = laneDot{
		one: func(w, a []byte) float32 { return d.q8One(&w[0], &a[0], len(a)/34) },
		rows4: func(dst *[4]float32, w []byte, stride int, a []byte) {
			d.q8Rows4(dst, &w[0], stride, &a[0], len(a)/34)
		},
		// Q8_0·Q8_0 is symmetric, bit for bit: four tokens against one
		// weight row are four rows against one activation.
		tokens4: func(dst *[4]float32, w, a []byte, stride int) {
			d.q8Rows4(dst, &a[0], stride, &w[0], len(w)/34)
		},
	}
	ks.quantizeQ8_0 = neonQuantizer(false)
	ks.quantizeQ8_0Lanes = neonQuantizer(true)
	return ks
}

func neonQuantizer(evenHalves bool) func(x []float32, dst []byte) {
	return func(x []float32, dst []byte) {
		if len(x) > 0 {
			quantizeQ8_0NEON(&x[0], &dst[0], len(x)/32, evenHalves)
		}
	}
}

// bestKernels picks the SDOT kernels ("dotprod") where the CPU has the
// dot-product extension and the plain NEON ones elsewhere.
func bestKernels() laneKernels {
	if cpu.ARM64.HasASIMDDP {
		return dotprodKernels
	}
	return neonKernels
}
