package testmodel

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/quant"
)

func TestMistral7BHasTheRealShape(t *testing.T) {
	m := Mistral7B(t)
	c := m.Config
	require.Equal(t, 4096, c.Dim)
	require.Equal(t, 32, c.Layers)
	require.Equal(t, 32, c.Heads)
	require.Equal(t, 8, c.KVHeads)
	require.Equal(t, 14336, c.FFN)
	require.Equal(t, 32000, c.Vocab)
	require.Equal(t, quant.Q6_K, m.Weights.Output.Type)
	require.Equal(t, quant.Q4_0, m.Weights.Blocks[31].Down.Type)
	require.Greater(t, m.File.Size(), int64(3_800_000_000), "the Q4_0 7B layout is about 4 GB")
	st, err := os.Stat(m.File.Path())
	require.NoError(t, err)
	require.Equal(t, m.File.Size(), st.Size())
}
