//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/cpu"
)

// Both arm64 tile sets are tested where the CPU runs them, as the lane
// kernels are: the plain NEON one everywhere, the SDOT one with the
// dot-product extension.
func init() {
	archTileSets = []tileSet{neonTiles}
	if cpu.ARM64.HasASIMDDP {
		archTileSets = append(archTileSets, dotprodTiles)
	}
}

func TestArm64TileKernelChoice(t *testing.T) {
	want := map[bool]string{true: "dotprod", false: "neon"}[cpu.ARM64.HasASIMDDP]
	assert.Equal(t, want, tileKernels.name)
	t.Logf("tile kernels %s; tested sets %d", tileKernels.name, len(tileSets()))
}
