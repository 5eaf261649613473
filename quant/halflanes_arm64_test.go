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
	require.GreaterOrEqual(t, len(sets), 2)
	require.Equal(t, goKLaneKernels.name, sets[0].name)
	for _, s := range sets[1:] {
		require.NotEqual(t, goKLaneKernels.name, s.name)
	}
}
