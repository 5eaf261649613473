//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The AVX-512 kernels of lanes512_amd64.s, with the AVX2 ones' arguments.

//go:noescape
func dotQ4_0Q8_0AVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0Q8_0AVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ4_0Q8_0Rows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_0Q8_0Tokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ8_0Q8_0Rows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)

// quantizeQ8_0AVX512 is quantizeQ8_0AVX2 on 512-bit registers.
//
//go:noescape
func quantizeQ8_0AVX512(x *float32, dst *byte, nb int, evenHalves bool)

// hasAVX512Lanes reports whether the CPU (and OS) run the AVX-512 kernels:
// 512-bit registers and opmasks (F), word broadcasts under a mask (BW,
// VL) and vpdpbusd (VNNI), besides what the AVX2 kernels need.
func hasAVX512Lanes() bool {
	x := cpu.X86
	return x.HasAVX2 && x.HasFMA && x.HasF16C &&
		x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI
}

// avx512Kernels is the AVX2 set's algorithms on AVX-512 registers.
var avx512Kernels = func() laneKernels {
	ks := avx2Kernels
	ks.name = "avx512"
	ks.q4_0.one = func(w, a []byte) float32 { return dotQ4_0Q8_0AVX512(&w[0], &a[0], len(a)/34) }
	ks.q8_0.one = func(w, a []byte) float32 { return dotQ8_0Q8_0AVX512(&w[0], &a[0], len(a)/34) }
	ks.q4_0.rows4 = func(dst *[4]float32, w []byte, stride int, a []byte) {
		dotQ4_0Q8_0Rows4AVX512(dst, &w[0], stride, &a[0], len(a)/34)
	}
	ks.q4_0.tokens4 = func(dst *[4]float32, w, a []byte, stride int) {
		dotQ4_0Q8_0Tokens4AVX512(dst, &w[0], &a[0], stride, stride/34)
	}
	ks.q8_0.rows4 = func(dst *[4]float32, w []byte, stride int, a []byte) {
		dotQ8_0Q8_0Rows4AVX512(dst, &w[0], stride, &a[0], len(a)/34)
	}
	// Symmetric, as for AVX2.
	ks.q8_0.tokens4 = func(dst *[4]float32, w, a []byte, stride int) {
		dotQ8_0Q8_0Rows4AVX512(dst, &a[0], stride, &w[0], len(w)/34)
	}
	ks.quantizeQ8_0 = avx512Quantizer(false)
	ks.quantizeQ8_0Lanes = avx512Quantizer(true)
	return ks
}()

func avx512Quantizer(evenHalves bool) func(x []float32, dst []byte) {
	return func(x []float32, dst []byte) {
		if len(x) > 0 {
			quantizeQ8_0AVX512(&x[0], &dst[0], len(x)/32, evenHalves)
		}
	}
}
