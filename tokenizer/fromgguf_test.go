package tokenizer

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metaFile encodes a tensor-less GGUF v3 file with the given metadata (in
// order) and parses it. Values are Go strings, []string, uint32, bool,
// []int32 or []float32.
func metaFile(t *testing.T, kvs ...any) *gguf.File {
	t.Helper()
	le := binary.LittleEndian
	b := []byte("GGUF")
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, uint64(len(kvs)/2))
	str := func(s string) {
		b = le.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	for i := 0; i < len(kvs); i += 2 {
		str(kvs[i].(string))
		switch v := kvs[i+1].(type) {
		case string:
			b = le.AppendUint32(b, 8)
			str(v)
		case uint32:
			b = le.AppendUint32(b, 4)
			b = le.AppendUint32(b, v)
		case bool:
			b = le.AppendUint32(b, 7)
			b = append(b, map[bool]byte{false: 0, true: 1}[v])
		case []string:
			b = le.AppendUint32(b, 9)
			b = le.AppendUint32(b, 8)
			b = le.AppendUint64(b, uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []int32:
			b = le.AppendUint32(b, 9)
			b = le.AppendUint32(b, 5)
			b = le.AppendUint64(b, uint64(len(v)))
			for _, x := range v {
				b = le.AppendUint32(b, uint32(x))
			}
		case []float32:
			b = le.AppendUint32(b, 9)
			b = le.AppendUint32(b, 6)
			b = le.AppendUint64(b, uint64(len(v)))
			for _, x := range v {
				b = le.AppendUint32(b, math.Float32bits(x))
			}
		default:
			t.Fatalf("metaFile: unsupported value %T", v)
		}
	}
	f, err := gguf.Parse(b)
	require.NoError(t, err)
	return f
}

// tinyTokens: <unk> <s> </s>, the byte tokens, then ▁ and "a".
func tinyTokens() ([]string, []int32) {
	v := smallVocab(map[string]float32{"▁": 0, "a": 0})
	types := make([]int32, len(v.Types))
	for i, x := range v.Types {
		types[i] = int32(x)
	}
	return v.Tokens, types
}

func TestFromGGUFRejectsOtherModels(t *testing.T) {
	f := metaFile(t, "tokenizer.ggml.model", "gpt2", "tokenizer.ggml.tokens", []string{"a"})
	_, err := FromGGUF(f)
	require.EqualError(t, err, `tokenizer: model "gpt2" is not supported (only SentencePiece "llama")`)

	_, err = FromGGUF(metaFile(t, "general.architecture", "llama"))
	require.ErrorContains(t, err, "tokenizer.ggml.model")
}

func TestFromGGUFDefaultsAndFlags(t *testing.T) {
	tokens, types := tinyTokens()
	tok, err := FromGGUF(metaFile(t,
		"tokenizer.ggml.model", "llama",
		"tokenizer.ggml.tokens", tokens,
		"tokenizer.ggml.token_type", types))
	require.NoError(t, err)
	assert.Equal(t, int32(1), tok.BOS())
	assert.Equal(t, int32(2), tok.EOS())
	assert.Equal(t, int32(0), tok.UNK())
	assert.True(t, tok.AddBOS())
	assert.False(t, tok.AddEOS())
	assert.True(t, tok.AddSpacePrefix())
	assert.Equal(t, []string{"<s>", "▁", "a"}, pieces(tok, tok.Encode("a", EncodeOptions{AddSpecial: true})))

	tok, err = FromGGUF(metaFile(t,
		"tokenizer.ggml.model", "llama",
		"tokenizer.ggml.tokens", tokens,
		"tokenizer.ggml.token_type", types,
		"tokenizer.ggml.bos_token_id", uint32(2),
		"tokenizer.ggml.eos_token_id", uint32(1),
		"tokenizer.ggml.eot_token_id", uint32(259),
		"tokenizer.ggml.add_bos_token", false,
		"tokenizer.ggml.add_eos_token", true,
		"tokenizer.ggml.add_space_prefix", false))
	require.NoError(t, err)
	assert.Equal(t, int32(2), tok.BOS())
	assert.Equal(t, int32(1), tok.EOS())
	assert.True(t, tok.IsEOG(259), "eot_token_id ends generation")
	assert.Equal(t, []string{"a", "<s>"}, pieces(tok, tok.Encode("a", EncodeOptions{AddSpecial: true})))
}

func TestFromGGUFRejectsMalformed(t *testing.T) {
	tokens, types := tinyTokens()
	cases := []struct {
		name string
		kvs  []any
		want string
	}{
		{"no tokens", nil, "tokenizer.ggml.tokens: missing"},
		{"bos out of range", []any{"tokenizer.ggml.tokens", tokens, "tokenizer.ggml.bos_token_id", uint32(4000)},
			"tokenizer.ggml.bos_token_id = 4000 is out of range for 261 tokens"},
		{"eos out of range", []any{"tokenizer.ggml.tokens", tokens, "tokenizer.ggml.eos_token_id", uint32(math.MaxUint32)},
			"tokenizer.ggml.eos_token_id = 4294967295 is out of range"},
		{"scores length", []any{"tokenizer.ggml.tokens", tokens, "tokenizer.ggml.scores", []float32{0, 1}},
			"2 scores for 261 tokens"},
		{"types length", []any{"tokenizer.ggml.tokens", tokens, "tokenizer.ggml.token_type", types[:3]},
			"3 token types for 261 tokens"},
		{"types element type", []any{"tokenizer.ggml.tokens", tokens, "tokenizer.ggml.token_type", []float32{1}},
			"tokenizer.ggml.token_type"},
		{"flag type", []any{"tokenizer.ggml.tokens", tokens, "tokenizer.ggml.add_bos_token", "yes"},
			"tokenizer.ggml.add_bos_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := metaFile(t, append([]any{"tokenizer.ggml.model", "llama"}, c.kvs...)...)
			tok, err := FromGGUF(f)
			require.ErrorContains(t, err, c.want)
			assert.Nil(t, tok)
		})
	}
}
