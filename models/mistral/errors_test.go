package mistral_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/quant"
)

func TestBadModelsGiveErrorsNamingTheProblem(t *testing.T) {
	src := shareddata.Path(t, "models", "stories260K.gguf")
	cases := []struct {
		name string
		edit func(*testmodel.Model)
		want string
	}{
		{"missing tensor", func(m *testmodel.Model) { m.Drop("blk.2.ffn_up.weight") },
			"missing tensor blk.2.ffn_up.weight (want shape [64 172])"},
		{"wrong shape", func(m *testmodel.Model) { m.Tensor("blk.1.attn_k.weight").Dims = []int64{64, 64} },
			"tensor blk.1.attn_k.weight has shape [64 64], want [64 32]"},
		{"unsupported type", func(m *testmodel.Model) { m.Tensor("blk.0.attn_q.weight").Type = quant.Q5_1 },
			"tensor blk.0.attn_q.weight has type Q5_1, which is not supported"},
		{"norm not F32", func(m *testmodel.Model) { m.Tensor("output_norm.weight").Type = quant.F16 },
			"tensor output_norm.weight has type F16, want F32"},
		{"heads not a multiple of kv heads", func(m *testmodel.Model) {
			m.SetKV("llama.attention.head_count_kv", gguf.Uint32Value(3))
		}, "llama.attention.head_count_kv = 3: 8 query heads are not a multiple of 3 KV heads"},
		{"rope dims above the head dim", func(m *testmodel.Model) {
			m.SetKV("llama.rope.dimension_count", gguf.Uint32Value(16))
		}, "llama.rope.dimension_count = 16 must be even and at most the head size 8"},
		{"heads do not divide the width", func(m *testmodel.Model) {
			m.SetKV("llama.attention.head_count", gguf.Uint32Value(12))
			m.SetKV("llama.attention.head_count_kv", gguf.Uint32Value(12))
		}, "12 heads of 5 do not make the embedding length 64"},
		{"other architecture", func(m *testmodel.Model) { m.SetKV("general.architecture", gguf.StringValue("gpt2")) },
			`architecture "gpt2" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mistral.Open(testmodel.Rewrite(t, src, c.edit))
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestBuildRejectsStepsOutsideTheContext(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer m.Close()
	_, err = mistral.Build(m.Config, m.Weights, 0)
	require.ErrorContains(t, err, "between 1 and the context length 2048")
	_, err = mistral.Build(m.Config, m.Weights, 2049)
	require.Error(t, err)
}
