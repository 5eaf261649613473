package cpurt

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// TestChunkingGivesSameLogits feeds one sequence as a single prefill step,
// token by token, and in chunks of 2, 5, 8, 9 and 12 (so mat-vec,
// multi-token mat-vec and tiled mat-mul variants, decode and prefill
// attention, tiles of one and four tokens, and steps that straddle chunk
// boundaries of the shared cache all run). The tolerance is zero: every
// kernel computes a token's values with the same operations in the same
// order whatever N and the variant, so any difference is a bug (a wrong
// position, a cache row read before it is written, a tile edge).
func TestChunkingGivesSameLogits(t *testing.T) {
	cases := []struct {
		model string
		kv    quant.Type
	}{
		{"derived/synth-d256-gqa-Q4_0.gguf", quant.F32}, // Q4_0 (tiles) and Q6_K weights, GQA
		{"stories260K.gguf", quant.F16},                 // F32 weights, F16 cache
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/kv%s", c.model, c.kv), func(t *testing.T) {
			md := openModel(t, c.model, c.kv, 3)
			// A sequence from the golden file: prompt and continuation.
			g, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
			require.NoError(t, err)
			seq := append(append([]int32(nil), g.PromptIDs...), g.GreedyIDs[:16]...)
			md.rt.ResetKV()
			want := md.run(t, seq, 0, len(seq))
			for _, chunk := range []int{1, 2, 5, 8, 9, 12} {
				md.rt.ResetKV()
				got := md.run(t, seq, 0, chunk)
				for pos := range seq {
					require.Equalf(t, want[pos], got[pos], "chunks of %d, position %d", chunk, pos)
				}
			}
		})
	}
}

// TestRunDoesNotAllocate: Run walks kernels compiled to closures over
// preallocated views and scratch; a step allocates nothing.
func TestRunDoesNotAllocate(t *testing.T) {
	md := openModel(t, "derived/synth-d256-gqa-Q4_0.gguf", quant.F16, 3)
	for _, n := range []int{1, 5, 12} {
		p := md.program(t, n)
		tokens := make([]int32, n)
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := p.Run(tokens, 0); err != nil {
				t.Fatal(err)
			}
		})
		require.Zerof(t, allocs, "N=%d", n)
	}
}

// TestRunLastIsRunsLastRow: RunLast, which computes the output projection
// for the last token alone, returns the bits of Run's last row, for steps
// of the mat-vec, multi-token and tiled kinds.
func TestRunLastIsRunsLastRow(t *testing.T) {
	for _, file := range []string{"derived/synth-d256-gqa-Q4_0.gguf", "stories260K.gguf"} {
		md := openModel(t, file, quant.F32, 2)
		for _, n := range []int{1, 5, 12} {
			tokens := make([]int32, n)
			for i := range tokens {
				tokens[i] = int32(1 + 37*i%200)
			}
			p := md.program(t, n)
			md.rt.ResetKV()
			all, err := p.Run(tokens, 0)
			require.NoError(t, err)
			want := append([]float32(nil), all[(n-1)*md.cfg.Vocab:]...)
			md.rt.ResetKV()
			nan := float32(math.NaN())
			for i := range p.logits {
				p.logits[i] = nan
			}
			last, err := p.RunLast(tokens, 0)
			require.NoError(t, err)
			require.Equal(t, want, last, "%s, %d tokens", file, n)
			for i, v := range p.logits[:(n-1)*md.cfg.Vocab] {
				require.True(t, v != v, "%s, %d tokens: logit %d of an earlier token was computed", file, n, i)
			}
		}
	}
}
