//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/cpu"
)

// Both arm64 K-quant sets are tested where the CPU runs them, as the lane
// kernels are: the plain NEON one everywhere, the SDOT one with the
// dot-product extension.
func init() {
	archKLaneKernelSets = []kLaneKernels{neonKLaneKernels}
	if cpu.ARM64.HasASIMDDP {
		archKLaneKernelSets = append(archKLaneKernelSets, dotprodKLaneKernels)
	}
}

func TestArm64KLaneKernelChoice(t *testing.T) {
	want := map[bool]string{true: "dotprod", false: "neon"}[cpu.ARM64.HasASIMDDP]
	assert.Equal(t, want, KLaneKernels())
	t.Logf("K-quant lane kernels %s; tested sets %d", KLaneKernels(), len(kKernelSets()))
}
