//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The AVX-512 vec half dots of halflanes512_amd64.s (steps of 32, at
// least 1). tinyBLAS keeps the AVX2 kernels: its order is one 8-lane
// accumulator chained over steps of 8, which a wider register cannot
// split without changing the sums.

//go:noescape
func f16VecAVX512(w *byte, x *float32, steps int) float32

//go:noescape
func bf16VecAVX512(w *byte, x *float32, steps int) float32

var avx2HalfKernels = halfKernels{
	f16Vec:   avx2Half(f16VecAVX2, 32),
	bf16Vec:  avx2Half(bf16VecAVX2, 32),
	f16Tiny:  avx2Half(f16TinyAVX2, 8),
	bf16Tiny: avx2Half(bf16TinyAVX2, 8),
}

var avx512HalfKernels = halfKernels{
	f16Vec:   avx2Half(f16VecAVX512, 32),
	bf16Vec:  avx2Half(bf16VecAVX512, 32),
	f16Tiny:  avx2HalfKernels.f16Tiny,
	bf16Tiny: avx2HalfKernels.bf16Tiny,
}

// bestHalfKernels are the half dots for every amd64 K-quant kernel set
// (the sets already require AVX2, FMA and F16C): the AVX-512 ones where
// the CPU (and OS) have AVX-512 F and BW.
var bestHalfKernels = pickHalfKernels()

func hasAVX512Half() bool {
	return cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
}

func pickHalfKernels() halfKernels {
	if hasAVX512Half() {
		return avx512HalfKernels
	}
	return avx2HalfKernels
}
