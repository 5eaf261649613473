//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The kernels of tile_arm64.s over nb ≥ 1 blocks, each in two forms as
// the lane kernels: SDOT needs the dot-product extension, NEON runs on
// every arm64 CPU. The packer needs no extension.

//go:noescape
func tileSDOT(dst *[4][TileRows]float32, tile *byte, a, sums *[4]*byte, nb int)

//go:noescape
func tileNEON(dst *[4][TileRows]float32, tile *byte, a, sums *[4]*byte, nb int)

//go:noescape
func tile1SDOT(dst *[TileRows]float32, tile, a, sums *byte, nb int)

//go:noescape
func tile1NEON(dst *[TileRows]float32, tile, a, sums *byte, nb int)

// packQ4_0TileNEON is packQ4_0TileGo for rows stride bytes apart.
//
//go:noescape
func packQ4_0TileNEON(dst, w *byte, stride, nb int)

var (
	dotprodTiles = armTiles("dotprod", tileSDOT, tile1SDOT)
	neonTiles    = armTiles("neon", tileNEON, tile1NEON)
)

func init() {
	tilePacker = func(dst, w []byte, nb int) { packQ4_0TileNEON(&dst[0], &w[0], len(w)/TileRows, nb) }
	tileKernels = neonTiles
	if cpu.ARM64.HasASIMDDP {
		tileKernels = dotprodTiles
	}
}

// armTiles passes the checked slices of DotQ4_0Tile and DotQ4_0Tile1 to
// the kernels four and one.
func armTiles(name string,
	four func(dst *[4][TileRows]float32, tile *byte, a, sums *[4]*byte, nb int),
	one func(dst *[TileRows]float32, tile, a, sums *byte, nb int)) tileSet {
	return tileSet{
		name: name,
		four: func(dst *[4][TileRows]float32, tile []byte, a, sums *[4][]byte, nb int) {
			ap, sp := tilePointers(a, sums)
			four(dst, &tile[0], &ap, &sp, nb)
		},
		one: func(dst *[TileRows]float32, tile, a, sums []byte, nb int) {
			one(dst, &tile[0], &a[0], &sums[0], nb)
		},
	}
}
