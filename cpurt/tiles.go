package cpurt

import (
	"sync"
	"unsafe"

	"github.com/metalgraph/metalgraph/internal/fvec"
	"github.com/metalgraph/metalgraph/quant"
)

// Q4_0 mat-vecs run on quant's tile kernels in every variant: the runtime
// repacks each Q4_0 weight once, when a program first binds it, into
// tiles of eight rows (the same size as the rows, in memory of its own,
// kept in the runtime's TileStore, which releases the originals), and
// then a decode step streams one tile after another with one conversion
// and one FMA per eight rows and block, and larger steps multiply four
// tokens per pass over a tile, or, on CPUs with 512-bit registers, up to
// eight per pass over two tiles (quant's group kernels: a verification
// step of k+1 ≤ 8 tokens unpacks each weight once). Their order is that of ggml's repacked Q4_0 kernels
// (quant/tile.go), the same for every step size, so a verification step
// of speculative decoding sees what decoding sees.

// tileable reports whether a mat-vec can use tiles: Q4_0 weights whose
// every output has whole tiles of rows.
func (k *matKernel) tileable(t quant.Type) bool {
	if t != quant.Q4_0 {
		return false
	}
	for _, r := range k.rows {
		if r%quant.TileRows != 0 {
			return false
		}
	}
	return true
}

// TileStore keeps the tiles of one model's Q4_0 weights, for every runtime
// over that model (a server's slots): each weight is repacked once.
type TileStore struct {
	mu      sync.Mutex
	tiles   map[*byte][]byte // by the address of the rows in the weights
	release func([]byte)
}

// NewTileStore returns an empty store. release, when set, is told of the
// weight bytes each tile replaces, which no runtime reads again, so that a
// mapped file's pages can leave memory (gguf.File.Release).
func NewTileStore(release func([]byte)) *TileStore {
	return &TileStore{tiles: map[*byte][]byte{}, release: release}
}

// tiledRows returns w (whole tiles of Q4_0 rows of cols elements, in the
// weights buffer) repacked into tiles, packing it on first use with r's
// workers (so it waits for any run of r's programs to end), or nil if
// reading w faulted.
func (r *Runtime) tiledRows(w []byte, cols int) []byte {
	st := r.tiles
	st.mu.Lock()
	defer st.mu.Unlock()
	key := unsafe.SliceData(w)
	if t, ok := st.tiles[key]; ok && len(t) == len(w) {
		return t
	}
	tiles := alignedBytes(int64(len(w)))
	adviseHugePages(tiles)
	tb := quant.TileRows * cols / 32 * 18
	r.mu.Lock()
	err := r.pool.run(len(w)/tb, 64, func(_, lo, hi int) {
		for g := lo; g < hi; g++ {
			quant.PackQ4_0Tile(tiles[g*tb:(g+1)*tb], w[g*tb:(g+1)*tb], cols)
		}
	})
	r.mu.Unlock()
	if err != nil {
		return nil
	}
	st.tiles[key] = tiles
	if st.release != nil {
		st.release(w)
	}
	return tiles
}

// tilePhases are the phases after quantisation: the tile kernel's
// per-token block sums, then the tiles. Row chunks are whole tiles because
// the pool hands out whole grains.
func (k *matKernel) tilePhases(c *compiler) ([]phase, error) {
	for i, w := range k.w {
		if w == nil {
			continue
		}
		if k.w[i] = c.p.rt.tiledRows(w, k.cols); k.w[i] == nil {
			return nil, errWeightsFault
		}
	}
	sumBytes := quant.TileActivationBytes(k.cols)
	// Steps of five tokens or more lay them out in groups of eight for
	// the group kernels instead, after the space of the per-token sums
	// (which a run that needs only its last token's output uses). Below five the two- and
	// four-token kernels are as fast or faster: on a 7B Q4_0 model a step
	// of two cost 1.08× a decode step through tile2 against 1.26× through
	// a group of two, and one of five 1.70× against 1.42× through a group.
	k.groups = k.n >= groupMinTokens && quant.TileGroupIsOnePass()
	groupBytes := 0
	if k.groups {
		groupBytes = quant.TileGroupBytes(k.cols, quant.TileGroupTokens)
	}
	k.p.scratchTileAct(k.n*sumBytes + (k.n+quant.TileGroupTokens-1)/quant.TileGroupTokens*groupBytes)
	k.tileState = make([]tileState, k.p.rt.pool.workers)
	units := k.rows[0]
	if k.form == formQKV {
		units += 2 * k.rows[1]
	}
	prepare := func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			a := k.p.act[i*k.actBytes : (i+1)*k.actBytes]
			if k.useGroups() {
				g, tokens := k.group(i / quant.TileGroupTokens)
				quant.PrepareTileGroup(g, a, k.cols, i%quant.TileGroupTokens, tokens)
			} else {
				quant.PrepareTileActivation(k.p.tileAct[i*sumBytes:(i+1)*sumBytes], a, k.cols)
			}
		}
	}
	return []phase{
		{units: k.n, grain: 1, fn: prepare},
		{units: units, grain: 2 * quant.TileRows, fn: k.tiled},
	}, nil
}

// groupMinTokens is the fewest tokens a step must have to use the group
// kernels.
const groupMinTokens = 5

// useGroups reports whether this run computes through the group kernels:
// a step laid out in groups that needs every token's output (RunLast's
// logits need the last token's alone, through the one-token kernel).
func (k *matKernel) useGroups() bool { return k.groups && k.first() == 0 }

// group returns the activations of group g (tokens 8g..) of the step in
// the group kernels' layout, and how many tokens it holds.
func (k *matKernel) group(g int) ([]byte, int) {
	tokens := min(quant.TileGroupTokens, k.n-g*quant.TileGroupTokens)
	off := k.n*quant.TileActivationBytes(k.cols) + g*quant.TileGroupBytes(k.cols, quant.TileGroupTokens)
	return k.p.tileAct[off : off+quant.TileGroupBytes(k.cols, tokens)], tokens
}

// tileState is one worker's arguments and results of the tile kernels,
// kept with the kernel so that a step allocates nothing.
type tileState struct {
	acts, sums [4][]byte
	g, u       [quant.TileGroupTokens][2 * quant.TileRows]float32
	one        [4][quant.TileRows]float32 // a single tile's four-token pass
}

// tiled computes output units [lo, hi), whole tiles, for every token the
// step needs: two tiles at a time where the part has them (one pass of
// 512-bit registers where the CPU has them), four tokens at a time while
// three or more remain, then one by one (a four-token pass costs about
// three one-token ones).
func (k *matKernel) tiled(w, lo, hi int) {
	const rows = quant.TileRows
	st := &k.tileState[w]
	for r := lo; r < hi; {
		part, r0 := k.part(r)
		m := rows
		if quant.TilePairIsOnePass() && r+2*rows <= hi && r0+2*rows <= k.rows[part] {
			m = 2 * rows
		}
		k.tileRows(st, part, r0, m)
		r += m
	}
}

// tileRows computes rows r0..r0+m (one tile or two) of output part for
// every token the step needs.
func (k *matKernel) tileRows(st *tileState, part, r0, m int) {
	const rows = quant.TileRows
	sb, rb := quant.TileActivationBytes(k.cols), k.rowBytes
	tiles := k.w[part][r0*rb : (r0+m)*rb]
	var ups []byte
	if k.form == formGateUp {
		ups = k.w[1][r0*rb : (r0+m)*rb]
	}
	if k.useGroups() {
		k.groupRows(st, part, r0, m, tiles, ups)
		return
	}
	for i0 := k.first(); i0 < k.n; {
		tokens := min(4, k.n-i0)
		if tokens >= 2 {
			for t := range 4 {
				i := i0 + min(t, tokens-1) // fewer tokens repeat the last
				st.acts[t] = k.p.act[i*k.actBytes : (i+1)*k.actBytes]
				st.sums[t] = k.p.tileAct[i*sb : (i+1)*sb]
			}
		}
		switch tokens {
		case 3, 4:
			k.fourTokens(st, (*[4][2 * rows]float32)(st.g[:4]), tiles, m)
			if ups != nil {
				k.fourTokens(st, (*[4][2 * rows]float32)(st.u[:4]), ups, m)
			}
		case 2:
			k.twoTokens(st, (*[4][2 * rows]float32)(st.g[:4]), tiles, m)
			if ups != nil {
				k.twoTokens(st, (*[4][2 * rows]float32)(st.u[:4]), ups, m)
			}
		default:
			a, s := k.p.act[i0*k.actBytes:(i0+1)*k.actBytes], k.p.tileAct[i0*sb:(i0+1)*sb]
			for h := 0; h < m; h += rows {
				quant.DotQ4_0Tile1((*[rows]float32)(st.g[0][h:]), tiles[h*rb:(h+rows)*rb], a, s, k.cols)
				if ups != nil {
					quant.DotQ4_0Tile1((*[rows]float32)(st.u[0][h:]), ups[h*rb:(h+rows)*rb], a, s, k.cols)
				}
			}
		}
		k.scatter(st, part, r0, m, i0, tokens)
		i0 += tokens
	}
}

// groupRows is tileRows through the group kernels: eight tokens (or the
// rest) per pass over the tiles.
func (k *matKernel) groupRows(st *tileState, part, r0, m int, tiles, ups []byte) {
	for g := 0; g*quant.TileGroupTokens < k.n; g++ {
		act, tokens := k.group(g)
		quant.DotQ4_0TileGroup(&st.g, tiles, act, tokens, k.cols)
		if ups != nil {
			quant.DotQ4_0TileGroup(&st.u, ups, act, tokens, k.cols)
		}
		k.scatter(st, part, r0, m, g*quant.TileGroupTokens, tokens)
	}
}

// twoTokens sets dst[t][:m] for t < 2 to the m rows of tiles times the
// first two tokens of st, tile by tile.
func (k *matKernel) twoTokens(st *tileState, dst *[4][2 * quant.TileRows]float32, tiles []byte, m int) {
	const rows = quant.TileRows
	for h := 0; h < m; h += rows {
		quant.DotQ4_0Tile2((*[rows]float32)(dst[0][h:]), (*[rows]float32)(dst[1][h:]),
			tiles[h*k.rowBytes:(h+rows)*k.rowBytes], &st.acts, &st.sums, k.cols)
	}
}

// fourTokens sets dst[t][:m] to the m rows of tiles (two only where the
// pair runs in one pass) times the four tokens of st.
func (k *matKernel) fourTokens(st *tileState, dst *[4][2 * quant.TileRows]float32, tiles []byte, m int) {
	if m == 2*quant.TileRows {
		quant.DotQ4_0TilePair(dst, tiles, &st.acts, &st.sums, k.cols)
		return
	}
	quant.DotQ4_0Tile(&st.one, tiles, &st.acts, &st.sums, k.cols)
	for t := range dst {
		copy(dst[t][:], st.one[t][:])
	}
}

// scatter writes the results of tokens i0.. for rows r0..r0+m of output
// part, in the kernel's form.
func (k *matKernel) scatter(st *tileState, part, r0, m, i0, tokens int) {
	out, stride := k.out[part], k.rows[part]
	for t := range tokens {
		o := (i0+t)*stride + r0
		switch k.form {
		case formAcc:
			for j, v := range st.g[t][:m] {
				out[o+j] = v + k.res[o+j]
			}
		case formGateUp:
			fvec.SiLUMul(out[o:o+m], st.g[t][:m], st.u[t][:m])
		default:
			copy(out[o:o+m], st.g[t][:m])
		}
	}
}
