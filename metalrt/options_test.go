package metalrt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
)

func TestMSLVersion(t *testing.T) {
	for v, want := range map[string]uint{"3.1": 196609, "2.4": 131076, "3.0": 196608, "3.2": 196610} {
		got, err := mslVersion(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "3", "3.x", "0.1", "-1.2"} {
		_, err := mslVersion(v)
		assert.ErrorContains(t, err, "want major.minor", v)
	}
	got, err := mslVersion(LanguageVersion)
	require.NoError(t, err, "the kernels' own version parses")
	assert.GreaterOrEqual(t, got, uint(196609), "MSL 3.1 or later")
}

func TestStepLimits(t *testing.T) {
	p := &plan.Plan{Commands: []plan.CommandBuffer{{Dispatches: []plan.Dispatch{
		{Params: plan.EmbedParams{Dim: 8, Vocab: 100, N: 2}},
		{Params: plan.AttnParams{Capacity: 64}},
		{Params: plan.KVParams{Capacity: 32}},
		{Params: plan.RopeKVParams{Capacity: 48}},
		{Params: plan.MatParams{Rows: 1000}},
	}}}}
	l := limitsOf(p)
	assert.Equal(t, stepLimits{context: 32, vocab: 100}, l)
	require.NoError(t, l.check("p", 2, []int32{0, 99}, 30))
	for _, tc := range []struct {
		tokens []int32
		pos0   int
		want   string
	}{
		{[]int32{1}, 0, "takes steps of 2 tokens, got 1"},
		{[]int32{1, 2}, -1, "negative start position -1"},
		{[]int32{1, 2}, 31, "context full: position 32 exceeds the context of 32 tokens"},
		{[]int32{1, 100}, 0, "token 1 of the step has id 100, outside the vocabulary of 100 tokens"},
		{[]int32{-1, 0}, 0, "token 0 of the step has id -1"},
	} {
		assert.ErrorContains(t, l.check("p", 2, tc.tokens, tc.pos0), tc.want)
	}
	// A plan without cache or embedding limits only positions to int32.
	assert.NoError(t, stepLimits{}.check("p", 1, []int32{1 << 30}, 1000))
	assert.ErrorContains(t, stepLimits{}.check("p", 1, []int32{0}, 1<<31-1), "out of range")
}
