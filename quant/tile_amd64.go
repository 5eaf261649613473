//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The kernels of tile_amd64.s, over nb ≥ 1 blocks.

//go:noescape
func tileAVX2(dst *[4][TileRows]float32, tile *byte, a, sums *[4]*byte, nb int)

//go:noescape
func tile1AVX2(dst *[TileRows]float32, tile, a, sums *byte, nb int)

// The same kernels with AVX-512 VNNI (tile_vnni_amd64.s).

//go:noescape
func tileVNNI(dst *[4][TileRows]float32, tile *byte, a, sums *[4]*byte, nb int)

//go:noescape
func tile1VNNI(dst *[TileRows]float32, tile, a, sums *byte, nb int)

// tile2VNNI is tileVNNI for the first two tokens of a and sums.
//
//go:noescape
func tile2VNNI(dst0, dst1 *[TileRows]float32, tile *byte, a, sums *[4]*byte, nb int)

// tilePairVNNI is tileVNNI over the tile at tile and the one stride bytes
// after it, in 512-bit registers.
//
//go:noescape
func tilePairVNNI(dst *[4][2 * TileRows]float32, tile *byte, stride int, a, sums *[4]*byte, nb int)

// The group kernels of tile_group_amd64.s, for 1 to 8 tokens.

//go:noescape
func tileGroup1VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup2VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup3VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup4VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup5VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup6VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup7VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

//go:noescape
func tileGroup8VNNI(dst *[TileGroupTokens][2 * TileRows]float32, tile *byte, stride int, group *byte, nb int)

// packQ4_0TileAVX2 is packQ4_0TileGo for rows stride bytes apart.
//
//go:noescape
func packQ4_0TileAVX2(dst, w *byte, stride, nb int)

var avx2Tiles = tileSet{
	name: "avx2",
	four: func(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
		ap, sp := tilePointers(a, sums)
		tileAVX2(dst, &tile[0], &ap, &sp, nb)
	},
	one: func(dst *[TileRows]float32, tile, a, sums []byte, nb int) {
		tile1AVX2(dst, &tile[0], &a[0], &sums[0], nb)
	},
}

var vnniTiles = tileSet{
	name: "avx512vnni",
	four: func(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
		ap, sp := tilePointers(a, sums)
		tileVNNI(dst, &tile[0], &ap, &sp, nb)
	},
	one: func(dst *[TileRows]float32, tile, a, sums []byte, nb int) {
		tile1VNNI(dst, &tile[0], &a[0], &sums[0], nb)
	},
	pair: func(dst *[4][2 * TileRows]float32, tiles []byte, a, sums *[4][]byte, nb int) {
		ap, sp := tilePointers(a, sums)
		tilePairVNNI(dst, &tiles[0], len(tiles)/2, &ap, &sp, nb)
	},
	two: func(dst0, dst1 *[TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
		ap, sp := tilePointers(a, sums)
		tile2VNNI(dst0, dst1, &tile[0], &ap, &sp, nb)
	},
	group: &[TileGroupTokens]groupKernel{tileGroup1VNNI, tileGroup2VNNI, tileGroup3VNNI, tileGroup4VNNI,
		tileGroup5VNNI, tileGroup6VNNI, tileGroup7VNNI, tileGroup8VNNI},
}

// hasAVX2Tiles and hasVNNITiles say which tile kernels this CPU runs.
var (
	hasAVX2Tiles = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasVNNITiles = hasAVX2Tiles && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL
)

func init() {
	switch {
	case hasVNNITiles:
		tileKernels = vnniTiles
	case hasAVX2Tiles:
		tileKernels = avx2Tiles
	}
	if hasAVX2Tiles {
		tilePacker = func(dst, w []byte, nb int) { packQ4_0TileAVX2(&dst[0], &w[0], len(w)/TileRows, nb) }
	}
}
