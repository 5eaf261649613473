//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The AVX2 kernels of lanes_amd64.s. Pointers and counts come from the
// checked slices of the wrappers below; nb is at least 1.

//go:noescape
func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0Rows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_0Q8_0Tokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0Q8_0Rows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)

// quantizeQ8_0AVX2 quantises nb blocks as quantQ8_0 or, with evenHalves,
// as quantQ8_0Lanes.
//
//go:noescape
func quantizeQ8_0AVX2(x *float32, dst *byte, nb int, evenHalves bool)

var avx2Kernels = laneKernels{
	name: "avx2",
	q4_0: laneDot{
		one: func(w, a []byte) float32 { return dotQ4_0Q8_0AVX2(&w[0], &a[0], len(a)/34) },
		rows4: func(dst *[4]float32, w []byte, stride int, a []byte) {
			dotQ4_0Q8_0Rows4AVX2(dst, &w[0], stride, &a[0], len(a)/34)
		},
		tokens4: func(dst *[4]float32, w, a []byte, stride int) {
			dotQ4_0Q8_0Tokens4AVX2(dst, &w[0], &a[0], stride, stride/34)
		},
	},
	q8_0: laneDot{
		one: func(w, a []byte) float32 { return dotQ8_0Q8_0AVX2(&w[0], &a[0], len(a)/34) },
		rows4: func(dst *[4]float32, w []byte, stride int, a []byte) {
			dotQ8_0Q8_0Rows4AVX2(dst, &w[0], stride, &a[0], len(a)/34)
		},
		// Q8_0·Q8_0 is symmetric, bit for bit: four tokens against one
		// weight row are four rows against one activation.
		tokens4: func(dst *[4]float32, w, a []byte, stride int) {
			dotQ8_0Q8_0Rows4AVX2(dst, &a[0], stride, &w[0], len(w)/34)
		},
	},
	quantizeQ8_0:      avx2Quantizer(false),
	quantizeQ8_0Lanes: avx2Quantizer(true),
}

func avx2Quantizer(evenHalves bool) func(x []float32, dst []byte) {
	return func(x []float32, dst []byte) {
		if len(x) > 0 {
			quantizeQ8_0AVX2(&x[0], &dst[0], len(x)/32, evenHalves)
		}
	}
}

// bestKernels picks the AVX-512 kernels where the CPU runs them, else the
// AVX2 kernels when the CPU (and OS) support AVX2, FMA and F16C, which
// they use for the integer sums, the accumulation and the F16 scales.
func bestKernels() laneKernels {
	if hasAVX512Lanes() {
		return avx512Kernels
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		return avx2Kernels
	}
	return goKernels
}
