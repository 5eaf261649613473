package quant_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/quant"
)

// TestQuantizeMatchesLlamaQuantize re-quantises the F32 models' tensors and
// compares the bytes with the files llama-quantize wrote from them (without
// an importance matrix, so with ggml's reference quantisers): Q4_0, Q8_0
// and Q6_K must match byte for byte.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	pairs := map[string][]string{
		"synth-d256-gqa-f32":     {"synth-d256-gqa-Q8_0", "synth-d256-gqa-Q4_0", "synth-d256-gqa-Q6_K"},
		"stories260K-ffn192-f32": {"stories260K-ffn192-Q8_0", "stories260K-ffn192-Q4_0"},
	}
	seen := map[quant.Type]bool{}
	for srcBase, dsts := range pairs {
		src := openModel(t, srcBase)
		for _, base := range dsts {
			dst := openModel(t, base)
			for _, ti := range dst.Tensors {
				if ti.Type == quant.F32 {
					continue
				}
				seen[ti.Type] = true
				t.Run(base+"/"+ti.Name, func(t *testing.T) {
					compareRequant(t, src, dst, ti.Name)
				})
			}
		}
	}
	require.Equal(t, map[quant.Type]bool{quant.Q4_0: true, quant.Q8_0: true, quant.Q6_K: true}, seen)
}

func compareRequant(t *testing.T, src, dst *gguf.File, name string) {
	typ, n, want := tensorRows(t, dst, name, int(mustTensor(t, dst, name).Rows()))
	styp, sn, rows := tensorRows(t, src, name, len(want))
	require.Equal(t, quant.F32, styp)
	require.Equal(t, n, sn)
	x := make([]float32, n)
	got := make([]byte, len(want[0]))
	bad := 0
	for r := range rows {
		require.NoError(t, quant.DequantizeRow(quant.F32, rows[r], x))
		require.NoError(t, quant.QuantizeRow(typ, x, got))
		if !bytes.Equal(got, want[r]) {
			bad++
		}
	}
	require.Zero(t, bad, "%s %s: %d of %d rows differ", name, typ, bad, len(rows))
}

func mustTensor(t *testing.T, f *gguf.File, name string) *gguf.TensorInfo {
	t.Helper()
	ti, ok := f.Tensor(name)
	require.True(t, ok)
	return ti
}
