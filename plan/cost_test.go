package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// costPlan is a 2-token step over a cache of 16 positions of 8 F32 per K
// and V row (32 bytes): a rope_kv_write, then an attention that waits for
// it, in a second command buffer a matvec.
func costPlan(window int32) *plan.Plan {
	p := &plan.Plan{Name: "cost", N: 2, Vocab: 4}
	for k, size := range []int64{16, 8, 4096, 1024, 1024, 32} {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	p.Commands = []plan.CommandBuffer{
		{Dispatches: []plan.Dispatch{
			{Kernel: plan.Name("rope_kv_write", quant.F32), Node: "rope_kv",
				Params: plan.RopeKVParams{Heads: 2, KVHeads: 1, HeadDim: 8, Dims: 8, N: 2, Capacity: 16, Base: 1e4, FreqScale: 1},
				Bindings: []plan.Binding{bind(plan.Step, 0, 16, false), bind(plan.Arena, 0, 128, false), bind(plan.Arena, 128, 64, false),
					bind(plan.Arena, 192, 64, false), bind(plan.Arena, 256, 128, true), bind(plan.KV, 0, 512, true), bind(plan.KV, 512, 512, true)}},
			{Kernel: plan.Name("attn_decode", quant.F32), Node: "attn", Barrier: true,
				Params: plan.AttnParams{Heads: 2, KVHeads: 1, HeadDim: 8, N: 2, Capacity: 16, Window: window, Scale: 0.35},
				Bindings: []plan.Binding{bind(plan.Step, 0, 16, false), bind(plan.Arena, 256, 128, false), bind(plan.KV, 0, 512, false),
					bind(plan.KV, 512, 512, false), bind(plan.Arena, 512, 128, true)}},
		}},
		{Dispatches: []plan.Dispatch{
			{Kernel: plan.Name("matvec", quant.F32), Node: "out", Params: plan.MatParams{Rows: 4, Cols: 16, N: 2},
				Bindings: []plan.Binding{bind(plan.Weights, 0, 256, false), bind(plan.Arena, 512, 128, false), bind(plan.Logits, 0, 32, true)}},
		}},
	}
	return p
}

func TestCost(t *testing.T) {
	p := costPlan(0)
	require.NoError(t, plan.Verify(p))
	c, err := p.Cost(10)
	require.NoError(t, err)
	assert.Equal(t, plan.Cost{
		N: 2, Context: 10,
		WeightBytes:     2 * 256, // the matvec reads its weight per token
		ActivationBytes: p.Stats().ActivationBytes,
		KVReadBytes:     2 * 10 * 32, // K and V: the 10 rows the queries see
		KVWriteBytes:    2 * 2 * 32,  // K and V: the step's 2 rows
		Commands:        []plan.CommandCost{{Dispatches: 2, Barriers: 1}, {Dispatches: 1}},
	}, c)
	assert.Equal(t, c.WeightBytes+c.ActivationBytes+c.KVReadBytes+c.KVWriteBytes, c.Total())
	assert.Equal(t, int64(320), c.PerToken(c.KVReadBytes))

	// A window of 4: the first query (position 8) sees rows 5..8, the
	// second 6..9; together 5 rows.
	c, err = costPlan(4).Cost(10)
	require.NoError(t, err)
	assert.Equal(t, int64(2*5*32), c.KVReadBytes)

	_, err = p.Cost(17)
	assert.EqualError(t, err, "context 17 exceeds the 16 positions of the cache rope_kv binds")
	_, err = p.Cost(1)
	assert.EqualError(t, err, "context 1 is shorter than the step's 2 tokens")
}
