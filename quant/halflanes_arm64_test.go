//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The half dots' bit-exactness tests compare every set of kKernelSets with
// the Go emulation: on arm64 that must include the NEON kernels.
func TestArm64HalfKernelsTested(t *testing.T) {
	sets := kKernelSets()
	require.Len(t, sets, 2)
	require.Equal(t, goKLaneKernels.name, sets[0].name)
	require.NotEqual(t, goKLaneKernels.name, sets[1].name)
}
