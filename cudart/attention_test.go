package cudart

import (
	"fmt"
	"testing"

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
