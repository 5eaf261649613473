package mistral_test

import (
	"encoding/binary"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/quant"
)

// Hostile or broken metadata and tensor lists in an otherwise good file
// (stories260K: 5 blocks, head dim 8, 512 tokens) are refused, naming the
// key or tensor at fault.
func TestHostileModelsAreRefusedByName(t *testing.T) {
	src := shareddata.Path(t, "models", "stories260K.gguf")
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	setF32 := func(key string, v float32) func(*testmodel.Model) {
		return func(m *testmodel.Model) { m.SetKV(key, gguf.Float32Value(v)) }
	}
	linear := func(factor float32) func(*testmodel.Model) {
		return func(m *testmodel.Model) {
			m.SetKV("llama.rope.scaling.type", gguf.StringValue("linear"))
			m.SetKV("llama.rope.scaling.factor", gguf.Float32Value(factor))
		}
	}
	setU64 := func(key string, v uint64) func(*testmodel.Model) {
		return func(m *testmodel.Model) { m.SetKV(key, gguf.Uint64Value(v)) }
	}
	addTensor := func(name string, dims ...int64) func(*testmodel.Model) {
		return func(m *testmodel.Model) {
			m.Tensors = append(m.Tensors, testmodel.Tensor{Name: name, Type: quant.F32, Dims: dims})
		}
	}
	const eps, base = "llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"
	cases := []struct {
		name string
		edit func(*testmodel.Model)
		want string
	}{
		{"NaN eps", setF32(eps, nan), eps + " = NaN: want a positive number below 1"},
		{"Inf eps", setF32(eps, inf), eps + " = +Inf"},
		{"negative eps", setF32(eps, -1e-5), eps + " = -1e-05"},
		{"zero eps", setF32(eps, 0), eps + " = 0"},
		{"absurd eps", setF32(eps, 10), eps + " = 10"},
		{"eps beyond float32", func(m *testmodel.Model) { m.SetKV(eps, gguf.Float64Value(1e300)) }, eps + " = +Inf"},
		{"NaN rope base", setF32(base, nan), base + " = NaN: want a positive finite number"},
		{"zero rope base", setF32(base, 0), base + " = 0"},
		{"infinite rope base", setF32(base, inf), base + " = +Inf"},
		{"NaN scaling factor", linear(nan), "llama.rope.scaling.factor = NaN: want a positive finite factor"},
		{"negative scaling factor", linear(-2), "llama.rope.scaling.factor = -2"},
		{"scaling factor too small to invert", linear(1e-45), "rope frequency scale +Inf"},
		{"NaN old linear scale key", setF32("llama.rope.scale_linear", nan), "llama.rope.scale_linear = NaN"},
		{"yarn scaling", func(m *testmodel.Model) { m.SetKV("llama.rope.scaling.type", gguf.StringValue("yarn")) },
			`llama.rope.scaling.type = "yarn" is not supported (want none or linear)`},
		{"llama3 scaling", func(m *testmodel.Model) { m.SetKV("llama.rope.scaling.type", gguf.StringValue("llama3")) },
			`llama.rope.scaling.type = "llama3" is not supported`},
		{"scaling type not a string", func(m *testmodel.Model) { m.SetKV("llama.rope.scaling.type", gguf.Uint32Value(1)) },
			"key llama.rope.scaling.type: is uint32"},
		{"rope_freqs tensor", addTensor("rope_freqs.weight", 4), "tensor rope_freqs.weight: Llama 3 rope frequency factors are not supported"},
		{"attention bias", addTensor("blk.0.attn_q.bias", 64), "unknown tensor blk.0.attn_q.bias: a llama model does not use it"},
		{"q norm", addTensor("blk.3.attn_q_norm.weight", 8), "unknown tensor blk.3.attn_q_norm.weight"},
		{"top-level extra", addTensor("token_embd_norm.weight", 64), "unknown tensor token_embd_norm.weight"},
		{"block index with a leading zero", addTensor("blk.01.attn_norm.weight", 64), "unknown tensor blk.01.attn_norm.weight"},
		{"block past block_count", addTensor("blk.5.attn_norm.weight", 64), "tensor blk.5.attn_norm.weight is in block 5, but llama.block_count is 5"},
		{"one block missing", setU64("llama.block_count", 6), "llama.block_count = 6, but the file holds tensors for 5 blocks"},
		{"block_count out of range", setU64("llama.block_count", 1<<24+1), "llama.block_count = 16777217 is out of range (want 1 to 16777216)"},
		{"key_length that wraps heads × head dim to the width", setU64("llama.attention.key_length", 1<<62+8),
			"llama.attention.key_length = 4611686018427387912 is out of range"},
		{"value_length other than key_length", setU64("llama.attention.value_length", 16),
			"llama.attention.value_length = 16 differs from the key length 8"},
		{"rope dims out of range", setU64("llama.rope.dimension_count", 1<<40), "llama.rope.dimension_count = 1099511627776 is out of range"},
		{"kv heads zero", setU64("llama.attention.head_count_kv", 0), "llama.attention.head_count_kv = 0 is out of range (want 1 to 16777216)"},
		{"mixture of experts", setU64("llama.expert_count", 8), "llama.expert_count = 8: mixture-of-experts models are not supported"},
		{"negative context", func(m *testmodel.Model) { m.SetKV("llama.context_length", gguf.Int32Value(-1)) },
			"key llama.context_length: is int32 -1, want a non-negative integer"},
		{"KV cache beyond any machine", func(m *testmodel.Model) {
			m.SetKV("llama.context_length", gguf.Uint32Value(1<<24))
			m.SetKV("llama.attention.head_count", gguf.Uint32Value(8))
			m.SetKV("llama.embedding_length", gguf.Uint32Value(1<<24))
			m.SetKV("llama.attention.head_count_kv", gguf.Uint32Value(8))
			m.SetKV("llama.rope.dimension_count", gguf.Uint32Value(8))
		}, "the KV cache of llama.context_length = 16777216 positions × 5 blocks × 8 KV heads × 2097152 dims would exceed 1 PiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mistral.Open(testmodel.Rewrite(t, src, c.edit))
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

// A block_count of 2^24 on a 5-block file used to bind 2^24 blocks (tens
// of seconds, gigabytes) before noticing blk.5 was missing; it must be
// refused from the tensor list alone.
func TestHugeBlockCountFailsBeforeAllocatingBlocks(t *testing.T) {
	path := testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		m.SetKV("llama.block_count", gguf.Uint32Value(1<<24))
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := mistral.Open(path)
	runtime.ReadMemStats(&after)
	require.EqualError(t, err, "llama.block_count = 16777216, but the file holds tensors for 5 blocks")
	// One Block per claimed layer alone would be 72 bytes × 2^24 = 1.2 GB.
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "bytes allocated by Open")
}

func TestTokenizerMustMatchTheEmbeddingAndOutput(t *testing.T) {
	tiny := shareddata.Path(t, "models", "llama-2-tiny-random.gguf")
	f, err := gguf.Open(tiny)
	require.NoError(t, err)
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Len(t, tokens, 32000)

	stories := shareddata.Path(t, "models", "stories260K.gguf")
	cases := []struct {
		name, src string
		edit      func(*testmodel.Model)
		want      string
	}{
		{"512 tokens for 32000 rows", tiny, func(m *testmodel.Model) {
			m.SetKV("tokenizer.ggml.tokens", gguf.StringsValue(tokens[:512]))
		}, "tokenizer.ggml.tokens holds 512 tokens but token_embd.weight has 32000 rows"},
		{"output rows differ from the embedding", stories, func(m *testmodel.Model) {
			m.Tensor("output.weight").Dims = []int64{64, 600}
		}, "tensor output.weight has shape [64 600], want [64 512]"},
		{"vocab_size key differs", stories, func(m *testmodel.Model) {
			m.SetKV("llama.vocab_size", gguf.Uint32Value(32000))
		}, "llama.vocab_size = 32000 but token_embd.weight has 512 rows"},
		{"token list not strings", stories, func(m *testmodel.Model) {
			m.SetKV("tokenizer.ggml.tokens", gguf.Int32sValue(make([]int32, 512)))
		}, "key tokenizer.ggml.tokens: is array, want an array of strings"},
		{"embedding not a matrix", stories, func(m *testmodel.Model) {
			m.Tensor("token_embd.weight").Dims = []int64{64, 512, 1}
		}, "tensor token_embd.weight has 3 dimensions, want 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mistral.Open(testmodel.Rewrite(t, c.src, c.edit))
			require.ErrorContains(t, err, c.want)
		})
	}
}

// A NaN or infinity in the weights loads (scanning costs a read of every
// byte) and is found by CheckFinite, which names the tensor and index.
func TestCheckFiniteNamesTheTensorAndIndex(t *testing.T) {
	poison := func(name string, edit func([]byte)) func(*testmodel.Model) {
		return func(m *testmodel.Model) {
			tn := m.Tensor(name)
			tn.Data = append([]byte(nil), tn.Data...) // the original is read-only mapped memory
			edit(tn.Data)
		}
	}
	cases := []struct {
		name string
		src  []string
		edit func(*testmodel.Model)
		want string
	}{
		{"F32 weight", []string{"models", "stories260K.gguf"}, poison("blk.1.ffn_up.weight", func(b []byte) {
			binary.LittleEndian.PutUint32(b[4*7:], math.Float32bits(float32(math.NaN())))
		}), "tensor blk.1.ffn_up.weight: element 7 is NaN"},
		{"F32 norm", []string{"models", "stories260K.gguf"}, poison("output_norm.weight", func(b []byte) {
			binary.LittleEndian.PutUint32(b[4*63:], math.Float32bits(float32(math.Inf(-1))))
		}), "tensor output_norm.weight: element 63 is -Inf"},
		{"Q4_0 block scale", []string{"models", "derived", "synth-d256-gqa-Q4_0.gguf"}, poison("blk.0.attn_k.weight", func(b []byte) {
			binary.LittleEndian.PutUint16(b[18*3:], 0x7c00)
		}), "tensor blk.0.attn_k.weight: Q4_0 block 3 (elements 96 to 127) has scale d = +Inf"},
		{"Q6_K output scale", []string{"models", "derived", "synth-d256-gqa-Q4_0.gguf"}, poison("output.weight", func(b []byte) {
			binary.LittleEndian.PutUint16(b[210*5+208:], 0x7e00)
		}), "tensor output.weight: Q6_K block 5 (elements 1280 to 1535) has scale d = NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := shareddata.Path(t, c.src...)
			good, err := mistral.Open(src)
			require.NoError(t, err)
			defer good.Close()
			require.NoError(t, good.Weights.CheckFinite(nil))

			bad, err := mistral.Open(testmodel.Rewrite(t, src, c.edit))
			require.NoError(t, err, "without the scan the model loads")
			defer bad.Close()
			require.EqualError(t, bad.Weights.CheckFinite(nil), c.want)
		})
	}
}

func TestCheckFiniteReportsProgressPerTensor(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf"))
	require.NoError(t, err)
	defer m.Close()
	var total int64
	for _, tn := range m.Weights.All() {
		total += int64(len(tn.Data))
	}
	var done []int64
	require.NoError(t, m.Weights.CheckFinite(func(d, tot int64) {
		require.Equal(t, total, tot)
		done = append(done, d)
	}))
	require.Len(t, done, len(m.Weights.All()))
	require.IsIncreasing(t, done)
	require.Equal(t, total, done[len(done)-1])
}
