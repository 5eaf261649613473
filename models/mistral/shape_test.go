package mistral_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/ops"
)

// A decode step of the 7B shape must reference every weight byte of the
// file once, except the embedding table, of which it reads one row.
func TestMistral7BDecodeReadsEachWeightOnce(t *testing.T) {
	m := testmodel.Mistral7B(t)
	g, err := mistral.Build(m.Config, m.Weights, 1)
	require.NoError(t, err)
	require.NoError(t, graph.Verify(g))

	var fileBytes int64
	for _, ti := range m.File.Tensors {
		fileBytes += ti.Size
	}
	emb := m.Weights.TokenEmbd
	embRow := int64(len(emb.Data)) / int64(emb.Shape[0])
	ideal := fileBytes - int64(len(emb.Data)) + embRow

	var referenced int64
	for _, n := range g.Nodes {
		referenced += n.Op.(ops.Op).Cost(n.Inputs, n.Outputs).WeightBytes
	}
	t.Logf("7B Q4_0 decode step: weight bytes referenced %d, file tensor bytes %d − embedding table %d + one row %d = %d",
		referenced, fileBytes, len(emb.Data), embRow, ideal)
	require.Equal(t, ideal, referenced)
	require.Len(t, g.Nodes, 3+32*16, "embed, 16 ops per block, output norm and projection")
}
