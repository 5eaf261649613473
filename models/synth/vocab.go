package synth

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/gguf"
)

// vocab is the tokenizer.* metadata of the model to write and its size.
type vocab struct {
	kvs  []gguf.KV
	size int
}

// Token types (tokenizer.ggml.token_type) used by the byte-level vocabulary.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeByte    = 6
)

// byteSpecials is the number of tokens before the filler: <unk>, <s>,
// </s> and the 256 byte tokens.
const byteSpecials = 3 + 256

// fillerAlphabet lists the characters filler pieces are made of, common
// letters first so that the shortest pieces are the likeliest.
const fillerAlphabet = "etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ0123456789.,!?'\"-:;()"

// byteVocab makes a SentencePiece vocabulary of size tokens laid out like
// Llama's: <unk>, <s>, </s>, the byte tokens <0x00>..<0xFF>, then unique
// filler pieces, shortest first, scored so that BPE merges reach them
// (every piece's prefixes are pieces too): "▁", single characters, "▁"
// + one character, two lowercase letters, "▁" + two, three, and so on.
func byteVocab(size int) (vocab, error) {
	if size <= byteSpecials {
		return vocab{}, fmt.Errorf("synth: a byte-level vocabulary needs more than %d tokens, got %d", byteSpecials, size)
	}
	tokens := make([]string, 0, size)
	types := make([]int32, 0, size)
	tokens = append(tokens, "<unk>", "<s>", "</s>")
	types = append(types, typeUnknown, typeControl, typeControl)
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, typeByte)
	}
	scores := make([]float32, byteSpecials, size)
	fill := func(piece string) bool {
		if len(tokens) == size {
			return false
		}
		scores = append(scores, -float32(len(tokens)-byteSpecials))
		tokens = append(tokens, piece)
		types = append(types, typeNormal)
		return true
	}
	const space = "\u2581"
	for n := 1; ; n++ {
		// Level n: "▁" + every word of n-1 letters, then every word of n.
		if !words(n-1, func(w string) bool { return fill(space + w) }) ||
			!words(n, fill) {
			break
		}
	}
	kvs := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.StringValue("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.StringsValue(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Float32sValue(scores)},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32sValue(types)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32Value(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32Value(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32Value(0)},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.BoolValue(true)},
		{Key: "tokenizer.ggml.add_eos_token", Value: gguf.BoolValue(false)},
	}
	return vocab{kvs: kvs, size: size}, nil
}

// words calls emit with every word of n characters in order, stopping
// when emit returns false; it reports whether emit always returned true.
// Words of one character use the whole alphabet, longer ones lowercase
// letters only, which keeps the count growing gently (26^n); letters go
// by English frequency, so words of common letters come first.
func words(n int, emit func(string) bool) bool {
	switch n {
	case 0:
		return emit("")
	case 1:
		for _, c := range fillerAlphabet {
			if !emit(string(c)) {
				return false
			}
		}
		return true
	}
	const lower = "etaoinshrdlcumwfgypbvkjxqz"
	idx := make([]int, n)
	var b strings.Builder
	for {
		b.Reset()
		for _, i := range idx {
			b.WriteByte(lower[i])
		}
		if !emit(b.String()) {
			return false
		}
		k := n - 1
		for k >= 0 && idx[k] == len(lower)-1 {
			idx[k] = 0
			k--
		}
		if k < 0 {
			return true
		}
		idx[k]++
	}
}

// vocabFrom copies every tokenizer.* key of the GGUF file at path; the
// vocabulary size is the number of tokens.
func vocabFrom(path string) (vocab, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return vocab{}, fmt.Errorf("synth: vocabulary: %w", err)
	}
	defer f.Close()
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return vocab{}, fmt.Errorf("synth: vocabulary from %s: %w", path, err)
	}
	if len(tokens) == 0 {
		return vocab{}, fmt.Errorf("synth: vocabulary from %s: no tokens", path)
	}
	var v vocab
	for _, kv := range f.KVs {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			v.kvs = append(v.kvs, kv)
		}
	}
	v.size = len(tokens)
	return v, nil
}
