package passes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

func TestFuseRopeKV(t *testing.T) {
	before := tiny{layers: 1}.graph(t, 1)
	after := apply(t, before, FuseRopeKV)
	goldenDOT(t, "fuse_rope_kv", before, after)

	assert.Len(t, after.Nodes, len(before.Nodes)-2)
	for _, gone := range []string{"blk.0/rope_q", "blk.0/rope_k", "blk.0/kv_write"} {
		assert.Nil(t, after.NodeNamed(gone), gone)
	}
	n := mustNode(t, after, "blk.0/rope_kv_write")
	op, ok := n.Op.(ops.RopeKVWriteOp)
	require.True(t, ok)
	assert.Equal(t, before.NodeNamed("blk.0/rope_q").Op, op.Rope, "the Q rope's attributes")
	assert.Equal(t, []string{"blk.0/attn_q", "blk.0/attn_k", "blk.0/attn_v", "blk.0/k_cache", "blk.0/v_cache"}, names(n.Inputs))
	attn := mustNode(t, after, "blk.0/attn")
	assert.Equal(t, n.Outputs, attn.Inputs, "attention reads roped q and the updated caches")
	assert.Equal(t, nodeIndex(before, "blk.0/rope_q"), nodeIndex(after, "blk.0/rope_kv_write"))

	assert.Equal(t, describe(after), describe(apply(t, after, FuseRopeKV)), "a second run changes nothing")
}

func TestFuseRopeKVLeavesUnfusable(t *testing.T) {
	// probe adds roped + unroped, a second reader of the roped value.
	probe := func(roped, unroped string) func(*ops.Builder, *graph.Graph) []*graph.Value {
		return func(b *ops.Builder, g *graph.Graph) []*graph.Value {
			return []*graph.Value{b.Add("probe", g.Lookup(roped), g.Lookup(unroped))}
		}
	}
	cases := map[string]tiny{
		"roped q has another reader": {layers: 1, extra: probe("blk.0/rope_q", "blk.0/attn_q")},
		"roped k has another reader": {layers: 1, extra: probe("blk.0/rope_k", "blk.0/attn_k")},
		"roped q is a graph output": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			return []*graph.Value{g.Lookup("blk.0/rope_q")}
		}},
		"k rope differs beyond its heads": {layers: 1, kRopeBase: 500000},
		"attention reads the caches swapped": {layers: 1, extra: func(_ *ops.Builder, g *graph.Graph) []*graph.Value {
			a := g.NodeNamed("blk.0/attn")
			a.Inputs[1], a.Inputs[2] = a.Inputs[2], a.Inputs[1]
			return nil
		}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			g := m.graph(t, 1)
			assert.Equal(t, describe(g), describe(apply(t, g, FuseRopeKV)))
		})
	}
}

func TestFuseRopeKVOnStories(t *testing.T) {
	m := stories(t)
	g := storiesGraph(t, m, 2)
	after := apply(t, g, FuseRopeKV)
	layers := m.Config.Layers
	assert.Len(t, after.Nodes, len(g.Nodes)-2*layers, "two nodes fewer per block")
	c := countOps(after)
	assert.Equal(t, layers, c["rope_kv_write"])
	assert.Zero(t, c["rope"]+c["kv_write"])
	for i := range layers {
		n := mustNode(t, after, blockName(i, "rope_kv_write"))
		assert.Equal(t, n.Outputs, mustNode(t, after, blockName(i, "attn")).Inputs)
		assert.Equal(t, m.Config.Heads, n.Op.(ops.RopeKVWriteOp).Rope.Heads)
	}
}
