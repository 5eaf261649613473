package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

func bind(k plan.BufferKind, off, n int64, write bool) plan.Binding {
	return plan.Binding{Buffer: k, Offset: off, Length: n, Write: write}
}

// statsPlan is a 3-token step: embed (table of 10 rows of 40 bytes), an
// rmsnorm, a matvec and an mtmatvec of a 1000-byte weight each.
func statsPlan() *plan.Plan {
	p := &plan.Plan{Name: "stats", N: 3, Vocab: 4}
	for k, size := range []int64{16, 12, 4096, 512, 1024, 48} {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	p.Commands = []plan.CommandBuffer{
		{Dispatches: []plan.Dispatch{
			{Kernel: plan.Name("embed", quant.Q8_0), Params: plan.EmbedParams{Dim: 32, Vocab: 10, N: 3},
				Bindings: []plan.Binding{bind(plan.Weights, 0, 400, false), bind(plan.Tokens, 0, 12, false), bind(plan.Arena, 0, 384, true)}},
			{Kernel: "rmsnorm", Params: plan.NormParams{Dim: 32, N: 3}, Barrier: true,
				Bindings: []plan.Binding{bind(plan.Arena, 0, 384, false), bind(plan.Weights, 400, 128, false), bind(plan.Arena, 512, 384, true)}},
		}},
		{Dispatches: []plan.Dispatch{
			{Kernel: plan.Name("matvec", quant.Q4_0), Params: plan.MatParams{Rows: 4, Cols: 32, N: 3},
				Bindings: []plan.Binding{bind(plan.Weights, 1024, 1000, false), bind(plan.Arena, 512, 384, false), bind(plan.Logits, 0, 48, true)}},
			{Kernel: plan.Name("mtmatvec", quant.Q4_0), Params: plan.MatParams{Rows: 4, Cols: 32, N: 3},
				Bindings: []plan.Binding{bind(plan.Weights, 2048, 1000, false), bind(plan.Arena, 512, 384, false), bind(plan.Arena, 0, 48, true)}},
		}},
	}
	return p
}

func TestStatsCountsTheRules(t *testing.T) {
	p := statsPlan()
	require.NoError(t, plan.Verify(p))
	s := p.Stats()
	assert.Equal(t, plan.Stats{
		Dispatches:     4,
		Barriers:       1,
		CommandBuffers: 2,
		ArenaBytes:     1024,
		KVBytes:        512,
		// embed: 3 rows of 40 bytes; rmsnorm's scale once; matvec 3 times;
		// mtmatvec once.
		WeightBytesRead: 3*40 + 128 + 3*1000 + 1000,
		ActivationBytes: (12 + 384) + (384 + 384) + (384 + 48) + (384 + 48),
	}, s)
	text := s.String()
	assert.Contains(t, text, "weight bytes/step")
	assert.Regexp(t, `dispatches\s+4\n`, text)
	assert.Regexp(t, `weight bytes/step\s+4248\n`, text)
}
