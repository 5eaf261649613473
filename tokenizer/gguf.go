package tokenizer

import (
	"fmt"

	"github.com/metalgraph/metalgraph/gguf"
)

// GGUF metadata keys read by FromGGUF.
const (
	keyModel          = "tokenizer.ggml.model"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTypes          = "tokenizer.ggml.token_type"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keyEOT            = "tokenizer.ggml.eot_token_id"
	keyEOM            = "tokenizer.ggml.eom_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
)

// FromGGUF builds the tokenizer a GGUF file describes. Only SentencePiece
// vocabularies (tokenizer.ggml.model = "llama") are supported. Missing keys
// take llama.cpp's defaults for that model: BOS 1, EOS 2, UNK 0, add BOS,
// no EOS, add the space prefix, scores 0, all tokens normal.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	model, err := f.String(keyModel)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if model != "llama" {
		return nil, fmt.Errorf(`tokenizer: model %q is not supported (only SentencePiece "llama")`, model)
	}
	v := Vocab{BOS: 1, EOS: 2, UNK: 0, AddBOS: true, AddSpacePrefix: true}
	if v.Tokens, err = f.Strings(keyTokens); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if f.Has(keyScores) {
		if v.Scores, err = f.Float32s(keyScores); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	if f.Has(keyTypes) {
		types, err := f.Int32s(keyTypes)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		v.Types = make([]TokenType, len(types))
		for i, x := range types {
			v.Types[i] = TokenType(x)
		}
	}
	n := len(v.Tokens)
	for _, k := range []struct {
		key string
		dst *int32
	}{{keyBOS, &v.BOS}, {keyEOS, &v.EOS}, {keyUNK, &v.UNK}} {
		if err := readID(f, k.key, n, k.dst); err != nil {
			return nil, err
		}
	}
	for _, key := range []string{keyEOT, keyEOM} {
		id := int32(-1)
		if err := readID(f, key, n, &id); err != nil {
			return nil, err
		}
		if id >= 0 {
			v.EOG = append(v.EOG, id)
		}
	}
	for _, k := range []struct {
		key string
		dst *bool
	}{{keyAddBOS, &v.AddBOS}, {keyAddEOS, &v.AddEOS}, {keyAddSpacePrefix, &v.AddSpacePrefix}} {
		if !f.Has(k.key) {
			continue
		}
		if *k.dst, err = f.Bool(k.key); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	return New(v)
}

// readID sets *dst to the token id stored under key, if present.
func readID(f *gguf.File, key string, n int, dst *int32) error {
	if !f.Has(key) {
		return nil
	}
	id, err := f.Uint(key)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if id >= uint64(n) {
		return fmt.Errorf("tokenizer: %s = %d is out of range for %d tokens", key, id, n)
	}
	*dst = int32(id)
	return nil
}
