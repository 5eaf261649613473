package testmodel

import (
	"encoding/binary"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
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

func TestSetF32WritesOneElement(t *testing.T) {
	src := shareddata.Path(t, "models", "stories260K.gguf")
	path := Rewrite(t, src, func(m *Model) { m.SetF32(t, "output.weight", 6400, float32(math.NaN())) })
	orig, err := gguf.Open(src)
	require.NoError(t, err)
	defer orig.Close()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	data := func(f *gguf.File) []byte {
		ti, ok := f.Tensor("output.weight")
		require.True(t, ok)
		return f.TensorData(ti)
	}
	got := data(f)
	require.True(t, math.IsNaN(float64(math.Float32frombits(binary.LittleEndian.Uint32(got[4*6400:])))))
	want := slices.Clone(data(orig))
	copy(want[4*6400:], got[4*6400:4*6401])
	require.Equal(t, want, got, "every other byte is the source's")
}
