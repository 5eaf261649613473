//go:build !purego

package quant

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every amd64 tile set the CPU runs is tested: AVX2, and AVX-512 VNNI
// where the CPU has it (then it is the one chosen).
func init() {
	if hasAVX2Tiles {
		archTileSets = append(archTileSets, avx2Tiles)
	}
	if hasVNNITiles {
		archTileSets = append(archTileSets, vnniTiles)
	}
}

func TestAmd64TileKernelChoice(t *testing.T) {
	want := "go"
	switch {
	case hasVNNITiles:
		want = "avx512vnni"
	case hasAVX2Tiles:
		want = "avx2"
	}
	assert.Equal(t, want, tileKernels.name)
	t.Logf("tile kernels %s; tested sets %d", tileKernels.name, len(tileSets()))
}
