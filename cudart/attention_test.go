package cudart

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/plan"
)

// prefillAttnCases are the shapes prefill attention must get right beyond
// the shared op cases, chosen for a tiled kernel (64 queries a block, 16
// a warp, 32 cache rows a stage): one whole tile and 8 of them from
// position 0, a short step after a long cache, ragged tiles and warps,
// head dims that are not multiples of 16 or of 8 (scalar loads), sliding
// windows that skip whole cache blocks, GQA 1:1 and 4:1, both cache types.
func prefillAttnCases() ([]opcases.Case, []byte) {
	var w opcases.Weights
	var cases []opcases.Case
	for _, ct := range plan.CacheTypes {
		for _, a := range []struct {
			heads, kvHeads, hd, n, pos0, window int
		}{
			{8, 2, 128, 64, 0, 0},
			{2, 2, 128, 512, 0, 0},
			{4, 1, 128, 8, 1000, 0},
			{4, 4, 64, 70, 5, 0},
			{4, 1, 72, 37, 3, 0},
			{2, 1, 20, 19, 0, 0},
			{4, 2, 128, 100, 30, 40},
			{2, 2, 64, 33, 200, 7},
		} {
			name := fmt.Sprintf("%s/heads=%d:%d/hd=%d/n=%d/pos0=%d/window=%d", plan.Name("attn_prefill", ct),
				a.heads, a.kvHeads, a.hd, a.n, a.pos0, a.window)
			shape := opcases.AttnShape{Heads: a.heads, KVHeads: a.kvHeads, HeadDim: a.hd, Capacity: a.pos0 + a.n + 3}
			cases = append(cases, opcases.Attn(&w, name, "attn_prefill", ct, shape, a.n, a.pos0, a.window))
		}
	}
	return cases, w.Finish(cases)
}

// TestPrefillAttentionOnEmulator runs prefillAttnCases on the emulator
// against the CPU runtime.
func TestPrefillAttentionOnEmulator(t *testing.T) {
	bin := buildEmulator(t)
	cases, weights := prefillAttnCases()
	emulateAgainstCPU(t, bin, cases, weights)
}

// splitDecodeCases are decode steps (kv_len = pos0 + n) whose caches are
// long enough for attn_decode to split (attnSplits > 1), with the split
// count each gets: splits of whole caches, splits that see no row (a short
// cache in a large capacity, or a small window far into it), windows whose
// first row falls inside a split's first block, multi-token steps of
// speculative verification (each token sees one more row), GQA 1:1 to
// 4:1, head dims of 64, 72 (lanes without elements), 128 and 256, both
// cache types.
func splitDecodeCases(t *testing.T) ([]opcases.Case, []byte) {
	var w opcases.Weights
	var cases []opcases.Case
	for _, ct := range plan.CacheTypes {
		for _, a := range []struct {
			heads, kvHeads, hd, n, pos0, window, capacity, splits int
		}{
			{4, 1, 128, 1, 1500, 0, 2048, 4},
			{2, 2, 64, 1, 20, 0, 4096, 8},
			{4, 2, 128, 1, 1200, 700, 2048, 4},
			{4, 1, 64, 8, 1000, 0, 1100, 2},
			{2, 1, 72, 3, 900, 300, 1536, 3},
			{1, 1, 256, 2, 600, 0, 1024, 2},
			{2, 1, 128, 2, 3000, 20, 4096, 8},
		} {
			name := fmt.Sprintf("%s/heads=%d:%d/hd=%d/n=%d/pos0=%d/window=%d/capacity=%d", plan.Name("attn_decode", ct),
				a.heads, a.kvHeads, a.hd, a.n, a.pos0, a.window, a.capacity)
			shape := opcases.AttnShape{Heads: a.heads, KVHeads: a.kvHeads, HeadDim: a.hd, Capacity: a.capacity}
			c := opcases.Attn(&w, name, "attn_decode", ct, shape, a.n, a.pos0, a.window)
			l, err := Geometry(&c.Plan.Commands[0].Dispatches[0])
			require.NoError(t, err, name)
			require.Equal(t, a.splits, l.Grid[2], "%s: splits", name)
			cases = append(cases, c)
		}
	}
	return cases, w.Finish(cases)
}

// TestSplitDecodeAttentionOnEmulator runs splitDecodeCases (attn_decode,
// then attn_decode_reduce) on the emulator against the CPU runtime.
func TestSplitDecodeAttentionOnEmulator(t *testing.T) {
	bin := buildEmulator(t)
	cases, weights := splitDecodeCases(t)
	emulateAgainstCPU(t, bin, cases, weights)
}
