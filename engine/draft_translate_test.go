package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/tokenizer"
)

func TestValidPrefixKeepsByteFallbackCharactersWhole(t *testing.T) {
	require.Equal(t, "abc", validPrefix("abc\xc3"), "the first byte of é without the second")
	require.Equal(t, "café", validPrefix("café"))
	require.Equal(t, "a", validPrefix("a\xffb"))
	require.Equal(t, "x\uFFFDy", validPrefix("x\uFFFDy"), "an encoded replacement character is text")
}

func TestTheWindowStartsAtAWordNeverAtAByteToken(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer m.Close()
	tok, err := tokenizer.FromGGUF(m.File)
	require.NoError(t, err)
	d := &TranslatingDraft{target: tok}

	ids := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
	require.Equal(t, len(ids)-1, d.windowStart(ids), "▁time starts the last word")

	// Ü and ï are not in the 512-token vocabulary: each falls back to two
	// byte tokens, which the window must not start at.
	ids = tok.Encode("a Ünï", tokenizer.EncodeOptions{AddSpecial: true})
	last := ids[len(ids)-1]
	require.Equal(t, tokenizer.Byte, tok.Type(last))
	start := d.windowStart(ids)
	require.Positive(t, start)
	require.Equal(t, tokenizer.Normal, tok.Type(ids[start]))
	require.Equal(t, "Ünï", tok.Decode(ids[start:]), "the window holds the whole word")

	require.Equal(t, -1, d.windowStart(ids[:1]), "BOS alone has no word")
}
