//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The AVX-512 kernels of klanes512_amd64.s, with klanes_amd64.go's
// arguments.

//go:noescape
func dotQ4_KAVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KAVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ6_KAVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KRows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_KTokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ5_KRows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ5_KTokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ6_KRows4AVX512(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ6_KTokens4AVX512(dst *[4]float32, w, a *byte, stride int, nb int)

// avx512KLaneKernels pairs rows, tokens or a row's blocks in 512-bit
// registers; the half-float dots are the best this CPU runs.
var avx512KLaneKernels = kLaneKernels{
	name: "avx512",
	q4K:  asmKDot(dotQ4_KAVX512, dotQ4_KRows4AVX512, dotQ4_KTokens4AVX512),
	q5K:  asmKDot(dotQ5_KAVX512, dotQ5_KRows4AVX512, dotQ5_KTokens4AVX512),
	q6K:  asmKDot(dotQ6_KAVX512, dotQ6_KRows4AVX512, dotQ6_KTokens4AVX512),
	half: bestHalfKernels,
}

// hasAVX2KLanes and hasAVX512KLanes say which K-quant kernels this CPU
// runs; the AVX-512 ones use Z registers and byte and word operations on
// them (BW), and EVEX forms of 256-bit ones on Y16-Y31 (VL).
var (
	hasAVX2KLanes   = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasAVX512KLanes = hasAVX2KLanes && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
)
