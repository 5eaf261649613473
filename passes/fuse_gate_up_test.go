package passes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

func TestFuseGateUp(t *testing.T) {
	before := tiny{layers: 1}.graph(t, 1)
	after := apply(t, before, FuseGateUp)
	goldenDOT(t, "fuse_gate_up", before, after)

	assert.Len(t, after.Nodes, len(before.Nodes)-2)
	for _, gone := range []string{"blk.0/ffn_gate", "blk.0/ffn_up", "blk.0/ffn_swiglu"} {
		assert.Nil(t, after.NodeNamed(gone), gone)
	}
	gu := mustNode(t, after, "blk.0/ffn_gate_up")
	require.IsType(t, ops.GateUpOp{}, gu.Op)
	assert.Equal(t, []string{"blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0/ffn_norm"}, names(gu.Inputs))
	assert.Equal(t, []string{"blk.0/ffn_down"}, readersOf(after, gu.Out()))
	assert.Equal(t, nodeIndex(before, "blk.0/ffn_gate"), nodeIndex(after, "blk.0/ffn_gate_up"))

	assert.Equal(t, describe(after), describe(apply(t, after, FuseGateUp)), "a second run changes nothing")
}

func TestFuseGateUpLeavesUnfusable(t *testing.T) {
	probe := func(value string) func(*ops.Builder, *graph.Graph) []*graph.Value {
		return func(b *ops.Builder, g *graph.Graph) []*graph.Value {
			return []*graph.Value{b.Add("probe", g.Lookup(value), g.Lookup("blk.0/ffn_swiglu"))}
		}
	}
	cases := map[string]tiny{
		"gate has another reader": {layers: 1, extra: probe("blk.0/ffn_gate")},
		"up has another reader":   {layers: 1, extra: probe("blk.0/ffn_up")},
		"up is a graph output": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			return []*graph.Value{g.Lookup("blk.0/ffn_up")}
		}},
		"mixed weight types": {layers: 1, types: map[string]quant.Type{"ffn_up": quant.Q8_0}},
		"different inputs": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			g.NodeNamed("blk.0/ffn_up").Inputs[1] = g.Lookup("blk.0/attn_residual")
			return nil
		}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			g := m.graph(t, 1)
			assert.Equal(t, describe(g), describe(apply(t, g, FuseGateUp)))
		})
	}
}

func TestFuseGateUpOnStories(t *testing.T) {
	m := stories(t)
	g := storiesGraph(t, m, 1)
	after := apply(t, g, FuseGateUp)
	layers := m.Config.Layers
	assert.Len(t, after.Nodes, len(g.Nodes)-2*layers, "two nodes fewer per block")
	assert.Equal(t, layers, countOps(after)["matmul_gate_up"])
	assert.Zero(t, countOps(after)["swiglu"])
	assert.Equal(t, countOps(g)["matmul"]-2*layers, countOps(after)["matmul"])
	for i := range layers {
		assert.Equal(t, []string{blockName(i, "ffn_down")}, readersOf(after, mustNode(t, after, blockName(i, "ffn_gate_up")).Out()))
	}
}
