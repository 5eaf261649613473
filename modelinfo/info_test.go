package modelinfo

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/quant"
)

func inspectShared(t *testing.T, elems ...string) *Info {
	t.Helper()
	f, err := gguf.Open(shareddata.Path(t, elems...))
	require.NoError(t, err)
	defer f.Close()
	info, err := Inspect(f)
	require.NoError(t, err)
	return info
}

func TestInspectSynthQ4_0(t *testing.T) {
	i := inspectShared(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	assert.Equal(t, "llama", i.Architecture)
	assert.Equal(t, "synth-llama-d256-gqa-random", i.Name)
	assert.Equal(t, int64(1083808), i.FileSize)
	assert.Equal(t, uint32(3), i.GGUFVersion)
	assert.Equal(t, &FileType{ID: 2, Name: "MOSTLY_Q4_0"}, i.FileType)
	assert.Equal(t, "Q4_0, output.weight Q6_K", i.QuantMix)
	assert.Equal(t, []TypeCount{
		{"Q4_0", 15, 15 * 0}, {"F32", 5, 0}, {"Q6_K", 1, 0},
	}, zeroBytes(i.TensorTypes))
	assert.Equal(t, int64(1836288), i.Parameters)
	assert.Equal(t, 21, i.TensorCount)
	require.Len(t, i.Tensors, 21)

	h := i.Hyperparameters
	require.NotNil(t, h, i.HyperparametersError)
	assert.Equal(t, Hyperparameters{Dim: 256, Layers: 2, Heads: 8, KVHeads: 4, HeadDim: 32, FFN: 768,
		Vocab: 512, Context: 512, RopeDims: 32, RopeBase: 10000, RopeScale: 1, Eps: 1e-5}, *h)

	tok := i.Tokenizer
	require.NotNil(t, tok)
	assert.Equal(t, Tokenizer{Model: "llama", VocabSize: 512, BOS: 1, EOS: 2, UNK: 0,
		BOSPiece: "<s>", EOSPiece: "</s>", UNKPiece: "<unk>", AddBOS: true, AddBOSDefault: true}, *tok)

	m := i.Memory
	require.NotNil(t, m)
	assert.Equal(t, 512, m.Context, "the model's context is under the default cap")
	assert.Equal(t, 64, m.PrefillChunk)
	// 2 (K,V) · 2 layers · 512 positions · 4 kv heads · 32 dims.
	assert.Equal(t, int64(2*2*512*4*32*4), m.KVCacheF32)
	assert.Equal(t, int64(2*2*512*4*32*2), m.KVCacheF16)
	// At least the logits of both plans (1 + 64 rows of 512) and the
	// residual stream of the prefill step; arenas are reused across layers,
	// so far less than every intermediate of every layer.
	assert.Greater(t, m.Activations, int64(4*(1+64)*512+4*64*256))
	assert.Less(t, m.Activations, int64(4*(1+64)*(512+2*(2*256+2*256+2*128+2*768))))
	assert.Equal(t, i.FileSize+m.KVCacheF16+m.Activations, m.TotalF16)
	assert.Equal(t, m.KVCacheF32, m.FullKVCacheF32)
	assert.Equal(t, i.FileSize-i.DataOffset, i.TensorBytes, "tensors fill the data section")
}

// zeroBytes drops the byte counts, checked separately, from a comparison.
func zeroBytes(tc []TypeCount) []TypeCount {
	out := make([]TypeCount, len(tc))
	for k, c := range tc {
		out[k] = TypeCount{Type: c.Type, Count: c.Count}
	}
	return out
}

func TestInspectFacts(t *testing.T) {
	cases := []struct {
		file                    []string
		mix                     string
		layers, heads, kv, voc  int
		tensors                 int
		addBOSDefault, tiedEmbd bool
	}{
		{[]string{"models", "stories260K.gguf"}, "F32", 5, 8, 4, 512, 48, true, false},
		{[]string{"models", "llama-2-tiny-random.gguf"}, "F16", 1, 2, 2, 32000, 12, true, false},
		{[]string{"models", "derived", "stories260K-ffn192-Q4_0.gguf"}, "Q4_0, output.weight Q8_0", 5, 8, 4, 512, 48, true, false},
		{[]string{"models", "derived", "stories260K-ffn192-Q8_0.gguf"}, "Q8_0", 5, 8, 4, 512, 48, true, false},
		{[]string{"models", "derived", "synth-d256-gqa-Q4_0-pure.gguf"}, "Q4_0", 2, 8, 4, 512, 21, true, false},
		{[]string{"models", "derived", "synth-d256-gqa-Q6_K.gguf"}, "Q6_K", 2, 8, 4, 512, 21, true, false},
	}
	for _, c := range cases {
		i := inspectShared(t, c.file...)
		name := c.file[len(c.file)-1]
		assert.Equal(t, c.mix, i.QuantMix, name)
		require.NotNil(t, i.Hyperparameters, name)
		h := i.Hyperparameters
		assert.Equal(t, []int{c.layers, c.heads, c.kv, c.voc}, []int{h.Layers, h.Heads, h.KVHeads, h.Vocab}, name)
		assert.Equal(t, c.tensors, i.TensorCount, name)
		assert.Equal(t, c.addBOSDefault, i.Tokenizer.AddBOSDefault, name)
		assert.Equal(t, c.tiedEmbd, h.TiedEmbeddings, name)
	}
}

func TestInspectVocabOnlyOtherArch(t *testing.T) {
	i := inspectShared(t, "models", "vocab", "ggml-vocab-phi-3.gguf")
	assert.Equal(t, "phi3", i.Architecture)
	assert.Nil(t, i.Hyperparameters)
	assert.Nil(t, i.Memory)
	assert.Contains(t, i.HyperparametersError, `"phi3" is not supported`)
	assert.Equal(t, "no tensors", i.QuantMix)
	require.NotNil(t, i.Tokenizer)
	assert.Equal(t, 32064, i.Tokenizer.VocabSize)
	assert.Equal(t, int64(32000), i.Tokenizer.EOS)
	assert.Equal(t, "<|endoftext|>", i.Tokenizer.EOSPiece)
	assert.False(t, i.Tokenizer.AddBOSDefault, "the file has add_bos_token")

	var out bytes.Buffer
	require.NoError(t, i.WriteText(&out, true))
	assert.Contains(t, out.String(), `hyperparameters  unavailable: architecture "phi3" is not supported`)
}

// A model that fails validation still gets every fact that can be read,
// and Problem says why mrun run would refuse it.
func TestInspectReportsWhyAModelCannotRun(t *testing.T) {
	src := shareddata.Path(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	cases := []struct {
		name       string
		edit       func(*testmodel.Model)
		problem    string
		hyperKnown bool
	}{
		{"unknown tensor", func(m *testmodel.Model) {
			m.Tensors = append(m.Tensors, testmodel.Tensor{Name: "blk.0.attn_q.bias", Type: quant.F32, Dims: []int64{256}})
		}, "unknown tensor blk.0.attn_q.bias", true},
		{"block_count beyond the tensors", func(m *testmodel.Model) {
			m.SetKV("llama.block_count", gguf.Uint32Value(1<<24))
		}, "llama.block_count = 16777216, but the file holds tensors for 2 blocks", true},
		{"NaN rope base", func(m *testmodel.Model) {
			m.SetKV("llama.rope.freq_base", gguf.Float32Value(float32(math.NaN())))
		}, "llama.rope.freq_base = NaN", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := gguf.Open(testmodel.Rewrite(t, src, c.edit))
			require.NoError(t, err)
			defer f.Close()
			i, err := Inspect(f)
			require.NoError(t, err)
			assert.Contains(t, i.Problem, c.problem)
			assert.Equal(t, c.hyperKnown, i.Hyperparameters != nil)
			if !c.hyperKnown {
				assert.Equal(t, i.Problem, i.HyperparametersError)
			}
			assert.Nil(t, i.Memory, "no plan for a model that cannot run")
			assert.Equal(t, "synth-llama-d256-gqa-random", i.Name)
			assert.Equal(t, "Q4_0, output.weight Q6_K", i.QuantMix)
			require.NotNil(t, i.Tokenizer)
			assert.Equal(t, 512, i.Tokenizer.VocabSize)
		})
	}
}

func TestVocabularyOnlyFilesHaveNoProblem(t *testing.T) {
	i := inspectShared(t, "models", "vocab", "ggml-vocab-llama-spm.gguf")
	assert.Equal(t, "llama", i.Architecture)
	assert.Contains(t, i.HyperparametersError, "missing tensor token_embd.weight")
	assert.Empty(t, i.Problem, "a file of no tensors is not a broken model")
	assert.Empty(t, inspectShared(t, "models", "stories260K.gguf").Problem)
}

func TestWriteText(t *testing.T) {
	i := inspectShared(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	var short, long bytes.Buffer
	require.NoError(t, i.WriteText(&short, false))
	require.NoError(t, i.WriteText(&long, true))
	text := squash(short.String())
	for _, want := range []string{
		"\narchitecture llama\n",
		"\nquantization Q4_0, output.weight Q6_K\n",
		"\ntensor types 15 Q4_0 (936.00 KiB), 5 F32 (5.00 KiB), 1 Q6_K (105.00 KiB)\n",
		"\nheads 8, kv 4 (GQA 2:1), head dim 32\n",
		`
special bos 1 "<s>", eos 2 "</s>", unk 0 "<unk>"; add bos true (default), add eos false` + "\n",
		"\n kv cache 1.00 MiB F32, 512.00 KiB F16 (--kv f16)\n",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "blk.0.attn_q.weight")
	table := squash(long.String())
	assert.Contains(t, table, "\n# name type shape bytes offset\n0 output.weight Q6_K 256 x 512 107520 12704\n")
	assert.Contains(t, table, "\n20 blk.1.ffn_up.weight Q4_0 256 x 768 110592 973216\n")
}

// squash collapses runs of spaces, so tests do not depend on column widths.
func squash(s string) string { return regexp.MustCompile(` {2,}`).ReplaceAllString(s, " ") }

func TestJSONFieldNames(t *testing.T) {
	i := inspectShared(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	b, err := json.Marshal(i)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "llama", m["architecture"])
	assert.Equal(t, "Q4_0, output.weight Q6_K", m["quant_mix"])
	assert.Equal(t, float64(2), m["hyperparameters"].(map[string]any)["block_count"])
	assert.Equal(t, float64(512), m["tokenizer"].(map[string]any)["vocab_size"])
	assert.Len(t, m["tensors"], 21)
}

func TestQuantMix(t *testing.T) {
	mat := func(name string, typ quant.Type) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Type: typ, Dims: []int64{256, 256}}
	}
	vec := func(name string, typ quant.Type) gguf.TensorInfo {
		return gguf.TensorInfo{Name: name, Type: typ, Dims: []int64{256}}
	}
	cases := []struct {
		name    string
		tensors []gguf.TensorInfo
		want    string
	}{
		{"empty", nil, "no tensors"},
		{"vectors only", []gguf.TensorInfo{vec("a", quant.F32), vec("b", quant.F32)}, "F32"},
		{"norms F32 are no exception", []gguf.TensorInfo{
			mat("token_embd.weight", quant.Q8_0), vec("blk.0.attn_norm.weight", quant.F32), mat("blk.0.attn_q.weight", quant.Q8_0),
		}, "Q8_0"},
		{"a non-F32 norm is", []gguf.TensorInfo{
			mat("token_embd.weight", quant.Q8_0), vec("output_norm.weight", quant.F16),
		}, "Q8_0, output_norm.weight F16"},
		{"groups over every block", []gguf.TensorInfo{
			mat("blk.0.attn_q.weight", quant.Q4_K), mat("blk.0.ffn_down.weight", quant.Q6_K),
			mat("blk.1.attn_q.weight", quant.Q4_K), mat("blk.1.ffn_down.weight", quant.Q6_K),
			mat("blk.1.attn_k.weight", quant.Q4_K), mat("output.weight", quant.Q6_K),
		}, "Q4_K, blk.*.ffn_down.weight Q6_K, output.weight Q6_K"},
		{"groups over some blocks", []gguf.TensorInfo{
			mat("blk.0.attn_v.weight", quant.Q6_K), mat("blk.1.attn_v.weight", quant.Q6_K),
			mat("blk.2.attn_v.weight", quant.Q4_K), mat("blk.0.attn_q.weight", quant.Q4_K),
			mat("blk.1.attn_q.weight", quant.Q4_K), mat("blk.2.attn_q.weight", quant.Q4_K),
		}, "Q4_K, blk.*.attn_v.weight Q6_K (2 of 3 blocks)"},
		{"one block alone keeps its name", []gguf.TensorInfo{
			mat("blk.0.attn_v.weight", quant.Q6_K), mat("blk.1.attn_v.weight", quant.Q4_K), mat("blk.0.attn_q.weight", quant.Q4_K),
		}, "Q4_K, blk.0.attn_v.weight Q6_K"},
		{"a count tie goes to more elements", []gguf.TensorInfo{
			mat("a", quant.Q8_0), {Name: "b", Type: quant.Q4_0, Dims: []int64{256, 1024}},
		}, "Q4_0, a Q8_0"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, quantMix(c.tensors), c.name)
	}
}

func TestFormat(t *testing.T) {
	assert.Equal(t, "512 B", FormatBytes(512))
	assert.Equal(t, "1.50 KiB", FormatBytes(1536))
	assert.Equal(t, "3.83 GiB", FormatBytes(4112564224))
	assert.Equal(t, "7.24 B", FormatCount(7241732096))
	assert.Equal(t, "1.84 M", FormatCount(1836288))
	assert.Equal(t, "999", FormatCount(999))
}
