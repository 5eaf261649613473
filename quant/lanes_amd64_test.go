//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/cpu"
)

// Both amd64 sets are tested where the CPU runs them, whichever of them
// bestKernels picked: an AVX-512 machine still checks the AVX2 kernels.
func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		archKernelSets = append(archKernelSets, avx2Kernels)
	}
	if hasAVX512Lanes() {
		archKernelSets = append(archKernelSets, avx512Kernels)
	}
}

func TestAMD64KernelChoice(t *testing.T) {
	want := "go"
	switch {
	case hasAVX512Lanes():
		want = "avx512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C:
		want = "avx2"
	}
	assert.Equal(t, want, LaneKernels())
	t.Logf("lane kernels %s; tested sets %d", LaneKernels(), len(kernelSets()))
}
