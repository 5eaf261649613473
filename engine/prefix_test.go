package engine_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/tokenizer"
)

func TestGenerateTokensReusesTheCachedPrefix(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	want, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
	require.NoError(t, err)
	ids := f.tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
	s := f.session(t, engine.Options{})
	greedy := func(ids []int32) (string, engine.Stats) {
		var text strings.Builder
		st, err := engine.GenerateTokens(s, f.tok, ids, engine.GenerateOptions{
			MaxTokens: 32, OnText: func(t string) error { text.WriteString(t); return nil }})
		require.NoError(t, err)
		return text.String(), st
	}

	// A cache holding the prompt's first 3 tokens prefills only the other 2.
	_, err = engine.GenerateTokens(s, f.tok, ids[:3], engine.GenerateOptions{MaxTokens: 1})
	require.NoError(t, err)
	text, st := greedy(ids)
	require.Equal(t, want.GreedyText, text)
	require.Equal(t, 2, st.PromptTokens)

	// The same prompt again: only its last token is run, the answer is the same.
	text, st = greedy(ids)
	require.Equal(t, want.GreedyText, text)
	require.Equal(t, 1, st.PromptTokens)

	// The prompt extended by part of the answer (all in the cache already)
	// continues the same story.
	history := append(append([]int32{}, ids...), want.GreedyIDs[:8]...)
	text, st = greedy(history)
	require.Equal(t, 1, st.PromptTokens)
	require.True(t, strings.HasPrefix(f.tok.Decode(want.GreedyIDs[:8])+text, want.GreedyText), "it continues the same story: %q", text)

	// A different prompt shares only BOS: the rest is prefilled again.
	other := f.tok.Encode("The cat", tokenizer.EncodeOptions{AddSpecial: true})
	_, st = greedy(other)
	require.Equal(t, len(other)-1, st.PromptTokens)
	require.Equal(t, other, s.Tokens()[:len(other)])

	_, err = engine.GenerateTokens(s, f.tok, nil, engine.GenerateOptions{MaxTokens: 1})
	require.EqualError(t, err, "the prompt has no tokens")
}

func TestCachedPrefix(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{})
	ids := []int32{1, 403, 407, 261, 378}
	require.Equal(t, 0, s.CachedPrefix(ids))
	_, err := s.Prefill(ids[:3])
	require.NoError(t, err)
	require.Equal(t, 3, s.CachedPrefix(ids))
	require.Equal(t, 2, s.CachedPrefix([]int32{1, 403}))
	require.Equal(t, 1, s.CachedPrefix([]int32{1, 5, 407}))
	require.Equal(t, 0, s.CachedPrefix(nil))
}
