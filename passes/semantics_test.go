package passes

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// fusionRuns are the rewrites whose outputs must equal the primitive
// graph's: each fusion alone, and the whole front of the pipeline.
var fusionRuns = []struct {
	name   string
	passes []Pass
}{
	{"fuse_qkv", []Pass{FuseQKV}},
	{"fuse_gate_up", []Pass{FuseGateUp}},
	{"fuse_residual", []Pass{FuseResidual}},
	{"fuse_rope_kv", []Pass{FuseRopeKV}},
	{"all+select_variants", []Pass{FuseQKV, FuseGateUp, FuseResidual, FuseRopeKV, SelectVariants}},
}

// stepSizes are decode, small verification steps and a prefill-like chunk.
var stepSizes = []int{1, 2, 5, 8}

// steps is how many consecutive steps each comparison feeds, so later
// steps attend over cache rows that earlier ones wrote.
const steps = 3

func TestFusionsPreserveOutputsTiny(t *testing.T) {
	q8 := quant.Q8_0
	m := tiny{layers: 2, types: map[string]quant.Type{
		"attn_q": q8, "attn_k": q8, "attn_v": q8, "attn_output": q8, "ffn_gate": q8, "ffn_up": q8, "ffn_down": q8,
	}}
	w := randomWeights(t, m.graph(t, 1))
	checkFusionsPreserveOutputs(t, func(n int) *graph.Graph { return m.graph(t, n) }, w, tinyVocab)
}

func TestFusionsPreserveOutputsStories(t *testing.T) {
	m := stories(t)
	checkFusionsPreserveOutputs(t, func(n int) *graph.Graph { return storiesGraph(t, m, n) }, m.Weights, m.Config.Vocab)
}

// checkFusionsPreserveOutputs feeds one token sequence, in steps of n, to
// the primitive graph, to each fused graph and to the fused graph unfused
// again (ops.Unfuse), and requires the same logits at every step.
func checkFusionsPreserveOutputs(t *testing.T, build func(n int) *graph.Graph, w ops.WeightSource, vocab int) {
	for _, n := range stepSizes {
		base := build(n)
		tokens := make([]int32, steps*n)
		for i := range tokens {
			tokens[i] = int32((7*i + 1) % vocab)
		}
		want := runSteps(t, base, w, tokens)
		for _, r := range fusionRuns {
			t.Run(fmt.Sprintf("%s/N=%d", r.name, n), func(t *testing.T) {
				fused := apply(t, base, r.passes...)
				require.Less(t, len(fused.Nodes), len(base.Nodes), "the fusion must apply")
				requireClose(t, want, runSteps(t, fused, w, tokens), "fused")

				unfused := fused.Clone()
				require.NoError(t, ops.Unfuse(unfused))
				require.NoError(t, graph.Verify(unfused))
				for _, nd := range unfused.Nodes {
					_, isFused := nd.Op.(ops.Fused)
					require.False(t, isFused, "node %s is still fused", nd.Name)
				}
				requireClose(t, want, runSteps(t, unfused, w, tokens), "unfused")
			})
		}
	}
}

// runSteps evaluates g over tokens in steps of g.N with a fresh KV cache
// and returns each step's first output.
func runSteps(t *testing.T, g *graph.Graph, w ops.WeightSource, tokens []int32) [][]float32 {
	t.Helper()
	ev := ops.NewEvaluator(w)
	var outs [][]float32
	for pos := 0; pos < len(tokens); pos += g.N {
		out, err := ev.Run(g, tokens[pos:pos+g.N], pos)
		require.NoError(t, err)
		outs = append(outs, append([]float32(nil), out[0].F...))
	}
	return outs
}

// requireClose compares logits to float32 rounding: each element within
// 1e-5 of the largest magnitude in its step.
func requireClose(t *testing.T, want, got [][]float32, what string) {
	t.Helper()
	require.Len(t, got, len(want))
	for s := range want {
		require.Len(t, got[s], len(want[s]))
		var scale float64
		for _, v := range want[s] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range want[s] {
			d := math.Abs(float64(got[s][i] - want[s][i]))
			require.LessOrEqualf(t, d, 1e-5*scale, "%s: step %d logit %d: %g vs %g", what, s, i, got[s][i], want[s][i])
		}
	}
}
