package cudart

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
)

func TestStepLimits(t *testing.T) {
	p := &plan.Plan{N: 2, Commands: []plan.CommandBuffer{{Dispatches: []plan.Dispatch{
		{Params: plan.EmbedParams{Dim: 8, Vocab: 40, N: 2}},
		{Params: plan.AttnParams{Capacity: 64}},
		{Params: plan.KVParams{Capacity: 32}},
	}}}}
	l := limitsOf(p)
	require.Equal(t, stepLimits{context: 32, vocab: 40}, l)
	require.NoError(t, l.check("p", 2, []int32{0, 39}, 30))
	require.EqualError(t, l.check("p", 2, []int32{1}, 0), "cudart: program p takes steps of 2 tokens, got 1")
	require.EqualError(t, l.check("p", 2, []int32{1, 2}, -1), "cudart: negative start position -1")
	require.EqualError(t, l.check("p", 2, []int32{1, 2}, 31), "cudart: context full: position 32 exceeds the context of 32 tokens")
	require.EqualError(t, l.check("p", 2, []int32{1, 40}, 0), "cudart: token 1 of the step has id 40, outside the vocabulary of 40 tokens")
	require.EqualError(t, stepLimits{}.check("p", 1, []int32{0}, 1<<31-1), "cudart: position 2147483647 is out of range")
}
