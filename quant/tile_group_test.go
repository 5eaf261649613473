package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The group kernels give every token the one-token kernel's bits (the tile
// order), for one tile or two and every group size.
func TestTileGroupFollowsTheTileOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	for _, n := range []int{32, 96, 1024} {
		nb := n / 32
		w := randomBlocks(rng, Q4_0, 2*TileRows*nb)
		tiles := make([]byte, len(w))
		PackQ4_0Tile(tiles[:len(w)/2], w[:len(w)/2], n)
		PackQ4_0Tile(tiles[len(w)/2:], w[len(w)/2:], n)
		acts := randomBlocks(rng, Q8_0, TileGroupTokens*nb)
		for tokens := 1; tokens <= TileGroupTokens; tokens++ {
			group := make([]byte, TileGroupBytes(n, tokens))
			for s := range tokens {
				PrepareTileGroup(group, acts[s*nb*34:(s+1)*nb*34], n, s, tokens)
			}
			var best, two, one [TileGroupTokens][2 * TileRows]float32
			DotQ4_0TileGroup(&best, tiles, group, tokens, n)
			DotQ4_0TileGroup(&one, tiles[:len(tiles)/2], group, tokens, n)
			for h := range 2 {
				tileGroupGo(&two, tiles[h*len(tiles)/2:(h+1)*len(tiles)/2], group, tokens, nb, h*TileRows)
			}
			for tk := range tokens {
				a := acts[tk*nb*34 : (tk+1)*nb*34]
				for r := range 2 * TileRows {
					want := tileRef(w[r/TileRows*len(w)/2:], r%TileRows, a, n)
					require.True(t, sameFloat(want, best[tk][r]), "best n=%d tokens=%d token %d row %d: %g, want %g", n, tokens, tk, r, best[tk][r], want)
					require.True(t, sameFloat(want, two[tk][r]), "go n=%d tokens=%d token %d row %d", n, tokens, tk, r)
					want = tileRef(w, r%TileRows, a, n)
					require.True(t, sameFloat(want, one[tk][r]), "one tile n=%d tokens=%d token %d row %d", n, tokens, tk, r)
				}
			}
		}
	}
}

func TestTileGroupRefusesWrongSizes(t *testing.T) {
	const n = 64
	tiles := make([]byte, 2*TileRows*n/32*18)
	a := make([]byte, n/32*34)
	group := make([]byte, TileGroupBytes(n, 3))
	assert.Panics(t, func() { PrepareTileGroup(group, a, n, 3, 3) }, "slot beyond the group")
	assert.Panics(t, func() { PrepareTileGroup(group[1:], a, n, 0, 3) })
	assert.Panics(t, func() { PrepareTileGroup(group, a[2:], n, 0, 3) })
	var dst [TileGroupTokens][2 * TileRows]float32
	assert.Panics(t, func() { DotQ4_0TileGroup(&dst, tiles[1:], group, 3, n) })
	assert.Panics(t, func() { DotQ4_0TileGroup(&dst, tiles, group, 4, n) })
	assert.Panics(t, func() { DotQ4_0TileGroup(&dst, tiles, make([]byte, TileGroupBytes(n, 9)), 9, n) })
}
