package cpurt

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// TestChunkingGivesSameLogits feeds one sequence as a single prefill step,
// token by token, and in chunks of 2, 5 and 8 (so mat-vec, multi-token
// mat-vec and tiled mat-mul variants, decode and prefill attention, and
// steps that straddle chunk boundaries of the shared cache all run). The
// tolerance is zero: every kernel computes a token's values with the same
// operations in the same order whatever N and the variant, so any
// difference is a bug (a wrong position, a cache row read before it is
// written, a tile edge).
func TestChunkingGivesSameLogits(t *testing.T) {
	cases := []struct {
		model string
		kv    quant.Type
	}{
		{"derived/synth-d256-gqa-Q4_0.gguf", quant.F32}, // Q4_0 and Q6_K weights, GQA
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
			for _, chunk := range []int{1, 2, 5, 8} {
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
