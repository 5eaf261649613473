//go:build !purego

package fvec

import "golang.org/x/sys/cpu"

// On an AVX-512 CPU the AVX2 bodies stay tested beside the AVX-512 ones.
func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		archKernelSets = append(archKernelSets, avx2Kernels)
	}
}
