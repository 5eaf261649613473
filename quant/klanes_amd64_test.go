//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Both amd64 K-quant sets are tested where the CPU runs them: the AVX2 one
// on an AVX-512 machine too, so that it stays checked against the Go one.
func init() {
	if hasAVX2KLanes {
		archKLaneKernelSets = append(archKLaneKernelSets, avx2KLaneKernels)
	}
	if hasAVX512KLanes {
		archKLaneKernelSets = append(archKLaneKernelSets, avx512KLaneKernels)
	}
}

func TestAmd64KLaneKernelChoice(t *testing.T) {
	want, sets := "go", 1
	if hasAVX2KLanes {
		want, sets = "avx2", 2
	}
	if hasAVX512KLanes {
		want, sets = "avx512", 3
	}
	assert.Equal(t, want, KLaneKernels())
	assert.Len(t, kKernelSets(), sets)
	t.Logf("K-quant lane kernels %s; tested sets %d", KLaneKernels(), len(kKernelSets()))
}
