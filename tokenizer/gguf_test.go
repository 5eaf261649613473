package tokenizer

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func load(t testing.TB, elems ...string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(shareddata.Path(t, elems...))
	require.NoError(t, err)
	defer f.Close()
	tok, err := FromGGUF(f)
	require.NoError(t, err)
	return tok
}

type vocabCase struct {
	text string
	ids  []int32
}

// readCases reads llama.cpp's tokenizer test pairs: inputs separated by
// "\n__ggml_vocab_test__\n" (also after the last one), one line of ids per
// input.
func readCases(t testing.TB, inp, out string) []vocabCase {
	t.Helper()
	in, err := os.ReadFile(inp)
	require.NoError(t, err)
	want, err := os.ReadFile(out)
	require.NoError(t, err)
	texts := strings.Split(string(in), "\n__ggml_vocab_test__\n")
	require.Equal(t, "", texts[len(texts)-1], "input must end with the separator")
	texts = texts[:len(texts)-1]
	lines := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	require.Len(t, lines, len(texts))
	cases := make([]vocabCase, len(texts))
	for i, text := range texts {
		cases[i].text = text
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.ParseInt(f, 10, 32)
			require.NoError(t, err)
			cases[i].ids = append(cases[i].ids, int32(id))
		}
	}
	return cases
}

// llama.cpp's pairs, and the same inputs through the stories260K vocab.
var vocabSuites = []struct {
	name  string
	model []string
	inp   []string
	out   []string
}{
	{"llama-spm", []string{"models", "vocab", "ggml-vocab-llama-spm.gguf"},
		[]string{"models", "vocab", "ggml-vocab-llama-spm.gguf.inp"}, []string{"models", "vocab", "ggml-vocab-llama-spm.gguf.out"}},
	{"phi-3", []string{"models", "vocab", "ggml-vocab-phi-3.gguf"},
		[]string{"models", "vocab", "ggml-vocab-phi-3.gguf.inp"}, []string{"models", "vocab", "ggml-vocab-phi-3.gguf.out"}},
	{"llama-2-tiny-random", []string{"models", "llama-2-tiny-random.gguf"},
		[]string{"models", "vocab", "ggml-vocab-llama-spm.gguf.inp"}, []string{"models", "vocab", "ggml-vocab-llama-spm.gguf.out"}},
	{"stories260K", []string{"models", "stories260K.gguf"},
		[]string{"models", "vocab", "ggml-vocab-llama-spm.gguf.inp"}, []string{"models", "golden", "stories260K.tokenize-llama-spm-inp.out"}},
}

func TestLlamaCppPairs(t *testing.T) {
	for _, s := range vocabSuites {
		t.Run(s.name, func(t *testing.T) {
			tok := load(t, s.model...)
			cases := readCases(t, shareddata.Path(t, s.inp...), shareddata.Path(t, s.out...))
			require.NotEmpty(t, cases)
			for i, c := range cases {
				got := tok.Encode(c.text, EncodeOptions{})
				if len(c.ids) == 0 {
					assert.Empty(t, got, "case %d %q", i, c.text)
					continue
				}
				assert.Equal(t, c.ids, got, "case %d %q", i, c.text)
			}
		})
	}
}

func TestRoundTripOnPairs(t *testing.T) {
	models := [][]string{{"models", "vocab", "ggml-vocab-baichuan.gguf"}} // 64000 SPM tokens, no pairs upstream
	for _, s := range vocabSuites {
		models = append(models, s.model)
	}
	inp := shareddata.Path(t, "models", "vocab", "ggml-vocab-llama-spm.gguf.inp")
	out := shareddata.Path(t, "models", "vocab", "ggml-vocab-llama-spm.gguf.out")
	cases := readCases(t, inp, out)
	for _, m := range models {
		t.Run(m[len(m)-1], func(t *testing.T) {
			tok := load(t, m...)
			for i, c := range cases {
				for _, o := range []EncodeOptions{{}, {AddSpecial: true}, {AddSpecial: true, ParseSpecial: true}} {
					ids := tok.Encode(c.text, o)
					assert.Equal(t, c.text, tok.Decode(ids), "case %d %q %+v", i, c.text, o)
					assert.Equal(t, c.text, streamAll(tok, ids), "stream, case %d %q %+v", i, c.text, o)
				}
			}
		})
	}
}

func streamAll(tok *Tokenizer, ids []int32) string {
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(d.Next(id))
	}
	sb.WriteString(d.Flush())
	return sb.String()
}

func TestStoriesPrompt(t *testing.T) {
	tok := load(t, "models", "stories260K.gguf")
	assert.Equal(t, 512, tok.VocabSize())
	assert.Equal(t, int32(1), tok.BOS())
	assert.Equal(t, int32(2), tok.EOS())
	assert.True(t, tok.AddBOS(), "no add_bos_token key: llama default is true")
	ids := tok.Encode("Once upon a time", EncodeOptions{AddSpecial: true})
	assert.Equal(t, []int32{1, 403, 407, 261, 378}, ids)
	assert.Equal(t, []string{"<s>", "▁Once", "▁upon", "▁a", "▁time"}, pieces(tok, ids))
	assert.True(t, tok.IsEOG(2))
	assert.False(t, tok.IsEOG(378))
}

func TestSpecialTokensInText(t *testing.T) {
	tok := load(t, "models", "vocab", "ggml-vocab-llama-spm.gguf")
	const text = "<s>hello</s>"
	hello := tok.Encode("hello", EncodeOptions{})

	ids := tok.Encode(text, EncodeOptions{ParseSpecial: true})
	assert.Equal(t, append(append([]int32{1}, hello...), 2), ids)
	assert.Equal(t, text, tok.DecodeSpecial(ids))
	assert.Equal(t, "hello", tok.Decode(ids))

	ids = tok.Encode(text, EncodeOptions{})
	assert.NotContains(t, ids, int32(1))
	assert.NotContains(t, ids, int32(2))
	var joined string
	for _, id := range ids {
		assert.Equal(t, Normal, tok.Type(id), "piece %q", tok.Piece(id))
		joined += tok.Piece(id)
	}
	assert.Equal(t, "▁"+text, joined)
	assert.Equal(t, text, tok.Decode(ids))
}

func TestPhi3EndOfTurn(t *testing.T) {
	tok := load(t, "models", "vocab", "ggml-vocab-phi-3.gguf")
	end, ok := tok.ID("<|end|>")
	require.True(t, ok)
	assert.True(t, tok.IsEOG(32000), "EOS <|endoftext|>")
	assert.True(t, tok.IsEOG(end))
	assert.False(t, tok.IsEOG(2), "</s> is user-defined here, not EOS")
	// </s> is user-defined in this vocab: split out even without ParseSpecial.
	ids := tok.Encode("a</s>b", EncodeOptions{})
	assert.Contains(t, ids, int32(2))
	assert.Equal(t, "a</s>b", tok.Decode(ids))
}

func TestStreamDecoderOnByteTokens(t *testing.T) {
	tok := load(t, "models", "stories260K.gguf")
	const text = "Lily saw 😁 and 我想"
	ids := tok.Encode(text, EncodeOptions{AddSpecial: true})
	nBytes := 0
	for _, id := range ids {
		if tok.Type(id) == Byte {
			nBytes++
		}
	}
	require.GreaterOrEqual(t, nBytes, 4+3+3, "the 512-token vocab spells these characters in bytes")
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		s := d.Next(id)
		assert.True(t, isWholeUTF8(s), "partial character emitted: %q", s)
		sb.WriteString(s)
	}
	sb.WriteString(d.Flush())
	assert.Equal(t, text, sb.String())
	assert.Equal(t, tok.Decode(ids), sb.String())
}

func isWholeUTF8(s string) bool { return strings.ToValidUTF8(s, "!") == s }

// BenchmarkEncodeLlama32000 encodes growing texts with the 32000-token
// vocabulary; ns/byte stays flat as the text grows (heap merging, no
// quadratic pass), including on one long run with no spaces.
func BenchmarkEncodeLlama32000(b *testing.B) {
	tok := load(b, "models", "vocab", "ggml-vocab-llama-spm.gguf")
	in, err := os.ReadFile(shareddata.Path(b, "models", "vocab", "ggml-vocab-llama-spm.gguf.inp"))
	require.NoError(b, err)
	mixed := strings.ReplaceAll(string(in), "__ggml_vocab_test__", "") // ~1.9 KB of mixed scripts
	for _, n := range []int{5, 50, 500} {
		for _, c := range []struct{ name, text string }{
			{"mixed", strings.Repeat(mixed, n)},
			{"nospace", strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", n*50)},
		} {
			b.Run(c.name+"-"+strconv.Itoa(len(c.text)/1024)+"KB", func(b *testing.B) {
				b.SetBytes(int64(len(c.text)))
				for b.Loop() {
					tok.Encode(c.text, EncodeOptions{AddSpecial: true})
				}
			})
		}
	}
}
