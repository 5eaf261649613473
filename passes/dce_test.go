package passes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// A dead branch (a matmul nobody reads, and the weight only it reads) is
// removed; everything that reaches the output stays.
func TestDCERemovesDeadNodesAndTheirWeights(t *testing.T) {
	m := tiny{layers: 1, extra: func(b *ops.Builder, g *graph.Graph) []*graph.Value {
		dead := g.Weight("dead.weight", g.Lookup("output.weight").Type, 8, tinyDim)
		b.MatMul("dead_projection", dead, g.Lookup("output_norm"))
		return nil
	}}
	before := m.graph(t, 1)
	require.NotNil(t, before.NodeNamed("dead_projection"))
	after := apply(t, before, DCE)
	assert.Nil(t, after.NodeNamed("dead_projection"))
	assert.Nil(t, after.Lookup("dead.weight"), "the weight only the dead node read is pruned")
	assert.Len(t, after.Nodes, len(before.Nodes)-1)
	assert.Equal(t, describe(apply(t, m.graph(t, 1), DCE)), describe(apply(t, after, DCE)), "idempotent")
	goldenDOT(t, "dce", before, after)

	// The model itself has no dead node.
	live := tiny{layers: 2}.graph(t, 1)
	assert.Equal(t, describe(live), describe(apply(t, live, DCE)))
}
