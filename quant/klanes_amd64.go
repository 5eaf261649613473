//go:build !purego

package quant

// The AVX2 kernels of klanes_amd64.s. Pointers and counts come from the
// checked slices of the wrappers; nb and steps are at least 1.

//go:noescape
func dotQ4_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KRows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_KTokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ5_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KRows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ5_KTokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ6_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ6_KRows4AVX2(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ6_KTokens4AVX2(dst *[4]float32, w, a *byte, stride int, nb int)

// The half-float kernels take steps of 32 (vec) or 8 (tinyBLAS) elements.

//go:noescape
func f16VecAVX2(w *byte, x *float32, steps int) float32

//go:noescape
func bf16VecAVX2(w *byte, x *float32, steps int) float32

//go:noescape
func f16TinyAVX2(w *byte, x *float32, steps int) float32

//go:noescape
func bf16TinyAVX2(w *byte, x *float32, steps int) float32

var avx2KLaneKernels = kLaneKernels{
	name: "avx2",
	q4K:  asmKDot(dotQ4_KAVX2, dotQ4_KRows4AVX2, dotQ4_KTokens4AVX2),
	q5K:  asmKDot(dotQ5_KAVX2, dotQ5_KRows4AVX2, dotQ5_KTokens4AVX2),
	q6K:  asmKDot(dotQ6_KAVX2, dotQ6_KRows4AVX2, dotQ6_KTokens4AVX2),
	half: bestHalfKernels,
}

func avx2Half(k func(w *byte, x *float32, steps int) float32, step int) func(w []byte, x []float32) float32 {
	return func(w []byte, x []float32) float32 { return k(&w[0], &x[0], len(x)/step) }
}

// bestKLaneKernels picks the AVX-512 kernels where the CPU (and OS)
// support them, else the AVX2 ones where AVX2, FMA and F16C are there.
func bestKLaneKernels() kLaneKernels {
	switch {
	case hasAVX512KLanes:
		return avx512KLaneKernels
	case hasAVX2KLanes:
		return avx2KLaneKernels
	}
	return goKLaneKernels
}
