package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStepLimits(t *testing.T) {
	p := &Plan{Commands: []CommandBuffer{{Dispatches: []Dispatch{
		{Params: EmbedParams{Dim: 8, Vocab: 100, N: 2}},
		{Params: AttnParams{Capacity: 64}},
		{Params: KVParams{Capacity: 32}},
		{Params: RopeKVParams{Capacity: 48}},
		{Params: MatParams{Rows: 1000}},
	}}}}
	l := LimitsOf(p)
	assert.Equal(t, StepLimits{Context: 32, Vocab: 100}, l)
	require.NoError(t, l.Check("p", 2, []int32{0, 99}, 30))
	for _, tc := range []struct {
		tokens []int32
		pos0   int
		want   string
	}{
		{[]int32{1}, 0, "program p takes steps of 2 tokens, got 1"},
		{[]int32{1, 2}, -1, "negative start position -1"},
		{[]int32{1, 2}, 31, "context full: position 32 exceeds the context of 32 tokens"},
		{[]int32{1, 100}, 0, "token 1 of the step has id 100, outside the vocabulary of 100 tokens"},
		{[]int32{-1, 0}, 0, "token 0 of the step has id -1, outside the vocabulary of 100 tokens"},
	} {
		assert.EqualError(t, l.Check("p", 2, tc.tokens, tc.pos0), tc.want)
	}
	// A plan without cache or embedding limits only bounds positions to int32.
	assert.NoError(t, StepLimits{}.Check("p", 1, []int32{1 << 30}, 1000))
	assert.EqualError(t, StepLimits{}.Check("p", 1, []int32{0}, 1<<31-1), "position 2147483647 is out of range")
}
