//go:build !purego

package quant

// TestHalfDotsBitExact also compares the AVX2 half dots (which the K-quant
// set no longer carries on an AVX-512 CPU) and the AVX-512 ones, where the
// CPU has them, with the emulation.
func init() {
	archHalfKernelSets = append(archHalfKernelSets, kLaneKernels{name: "avx2 half", half: avx2HalfKernels})
	if hasAVX512Half() {
		archHalfKernelSets = append(archHalfKernelSets, kLaneKernels{name: "avx512 half", half: avx512HalfKernels})
	}
}
