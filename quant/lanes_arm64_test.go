//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/cpu"
)

// Both arm64 forms are tested where the CPU runs them: the plain NEON one
// everywhere, the SDOT one with the dot-product extension, whichever of
// them bestKernels picked.
func init() {
	archKernelSets = []laneKernels{neonKernels}
	if cpu.ARM64.HasASIMDDP {
		archKernelSets = append(archKernelSets, dotprodKernels)
	}
}

func TestArm64KernelChoice(t *testing.T) {
	want := map[bool]string{true: "dotprod", false: "neon"}[cpu.ARM64.HasASIMDDP]
	assert.Equal(t, want, LaneKernels())
	t.Logf("lane kernels %s; tested sets %d", LaneKernels(), len(kernelSets()))
}
