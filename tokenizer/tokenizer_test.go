package tokenizer

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallVocab builds a llama-style vocabulary: <unk>, <s>, </s>, the 256 byte
// tokens, then the given pieces with their scores.
func smallVocab(pieces map[string]float32) Vocab {
	v := Vocab{
		Tokens:         []string{"<unk>", "<s>", "</s>"},
		Scores:         []float32{0, 0, 0},
		Types:          []TokenType{Unknown, Control, Control},
		BOS:            1,
		EOS:            2,
		UNK:            0,
		AddBOS:         true,
		AddSpacePrefix: true,
	}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("<0x%02X>", b))
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, Byte)
	}
	// Deterministic order: sort the piece texts.
	var keys []string
	for k := range pieces {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.Tokens = append(v.Tokens, k)
		v.Scores = append(v.Scores, pieces[k])
		v.Types = append(v.Types, Normal)
	}
	return v
}

func mustNew(t *testing.T, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	require.NoError(t, err)
	return tok
}

// idOf looks up a piece that the test knows exists.
func idOf(tb testing.TB, tok *Tokenizer, piece string) int32 {
	tb.Helper()
	id, ok := tok.ID(piece)
	require.True(tb, ok, "piece %q missing", piece)
	return id
}

// pieces maps ids back to their vocabulary texts, for readable assertions.
func pieces(tok *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tok.Piece(id)
	}
	return out
}

func TestMergeBestScoreFirst(t *testing.T) {
	// "bc" outscores "ab", so "abc" splits as a|bc even though ab is leftmost.
	tok := mustNew(t, smallVocab(map[string]float32{"a": -1, "b": -1, "c": -1, "ab": -5, "bc": -2}))
	ids := tok.Encode("abc", EncodeOptions{})
	assert.Equal(t, []string{"<0xE2>", "<0x96>", "<0x81>", "a", "bc"}, pieces(tok, ids))

	tok = mustNew(t, smallVocab(map[string]float32{"a": -1, "b": -1, "c": -1, "ab": -2, "bc": -5}))
	ids = tok.Encode("abc", EncodeOptions{})
	assert.Equal(t, []string{"<0xE2>", "<0x96>", "<0x81>", "ab", "c"}, pieces(tok, ids))
}

func TestMergeTiesGoLeftmost(t *testing.T) {
	v := smallVocab(map[string]float32{"▁": 0, "a": -1, "▁a": -3, "aa": -3})
	tok := mustNew(t, v)
	// ▁ a a: pairs "▁a" (pos 0) and "aa" (pos 1) tie; the leftmost wins.
	assert.Equal(t, []string{"▁a", "a"}, pieces(tok, tok.Encode("aa", EncodeOptions{})))
	// Without the prefix: a a a -> "aa" at 0 first, then the last a.
	v.AddSpacePrefix = false
	tok = mustNew(t, v)
	assert.Equal(t, []string{"aa", "a"}, pieces(tok, tok.Encode("aaa", EncodeOptions{})))
}

func TestMergeBuildsLongPieces(t *testing.T) {
	tok := mustNew(t, smallVocab(map[string]float32{
		"▁": -1, "h": -1, "e": -1, "l": -1, "o": -1,
		"he": -2, "ll": -3, "hell": -4, "hello": -5, "▁hello": -6,
	}))
	ids := tok.Encode("hello hello", EncodeOptions{AddSpecial: true})
	assert.Equal(t, []string{"<s>", "▁hello", "▁hello"}, pieces(tok, ids))
	assert.Equal(t, "hello hello", tok.Decode(ids))
}

func TestByteFallback(t *testing.T) {
	tok := mustNew(t, smallVocab(map[string]float32{"▁": 0, "a": 0, "(": 0}))
	assert.Equal(t, []string{"▁", "a", "<0xC3>", "<0xA9>"}, pieces(tok, tok.Encode("aé", EncodeOptions{})))
	// Invalid UTF-8 is split by the lead byte's announced length, as
	// llama.cpp does: "\xC3(" is one two-byte symbol, so "(" falls back too.
	assert.Equal(t, []string{"▁", "<0xC3>", "<0x28>", "a"}, pieces(tok, tok.Encode("\xC3(a", EncodeOptions{})))
	assert.Equal(t, "aé", tok.Decode(tok.Encode("aé", EncodeOptions{})))
}

func TestFallbackWithoutByteTokens(t *testing.T) {
	// No <0xXX> tokens: a one-byte piece serves for its byte, UNK for the rest.
	v := Vocab{
		Tokens:         []string{"<unk>", "▁", "a", "\xC3"},
		Types:          []TokenType{Unknown, Normal, Normal, Normal},
		BOS:            -1,
		EOS:            -1,
		UNK:            0,
		AddSpacePrefix: true,
	}
	tok := mustNew(t, v)
	assert.Equal(t, []int32{1, 2, 3, 0, 0}, tok.Encode("aé€", EncodeOptions{})[:5])
	assert.Len(t, tok.Encode("aé€", EncodeOptions{}), 2+2+3)

	v.UNK = -1
	_, err := New(v)
	require.ErrorContains(t, err, "no token for byte 0x00")
}

func TestSpacePrefixRule(t *testing.T) {
	v := smallVocab(map[string]float32{"▁": 0, "a": 0, "▁a": 1})
	tok := mustNew(t, v)
	assert.Equal(t, []string{"▁a", "▁a"}, pieces(tok, tok.Encode("a a", EncodeOptions{})))
	assert.Equal(t, []string{"▁", "▁a"}, pieces(tok, tok.Encode(" a", EncodeOptions{})))
	assert.Empty(t, tok.Encode("", EncodeOptions{}))
	assert.Equal(t, []int32{1}, tok.Encode("", EncodeOptions{AddSpecial: true}))

	v.AddSpacePrefix = false
	tok = mustNew(t, v)
	assert.Equal(t, []string{"a", "▁a"}, pieces(tok, tok.Encode("a a", EncodeOptions{})))
	assert.Equal(t, "a a", tok.Decode(tok.Encode("a a", EncodeOptions{})))
	assert.Equal(t, " a", tok.Decode(tok.Encode(" a", EncodeOptions{})))
}

func TestAddSpecial(t *testing.T) {
	v := smallVocab(map[string]float32{"▁": 0, "a": 0})
	v.AddEOS = true
	tok := mustNew(t, v)
	assert.Equal(t, []string{"<s>", "▁", "a", "</s>"}, pieces(tok, tok.Encode("a", EncodeOptions{AddSpecial: true})))
	v.AddBOS, v.AddEOS = false, false
	tok = mustNew(t, v)
	assert.Equal(t, []string{"▁", "a"}, pieces(tok, tok.Encode("a", EncodeOptions{AddSpecial: true})))
}

func TestParseSpecial(t *testing.T) {
	v := smallVocab(map[string]float32{"▁": 0, "h": 0, "e": 0, "l": 0, "o": 0, "▁hello": 1, "hello": 1, "he": 0.5, "ll": 0.5, "hell": 0.7, "▁h": 0.2, "▁he": 0.6, "▁hell": 0.8})
	tok := mustNew(t, v)

	ids := tok.Encode("<s>hello</s>", EncodeOptions{ParseSpecial: true})
	assert.Equal(t, []int32{tok.BOS(), idOf(t, tok, "▁hello"), tok.EOS()}, ids)
	assert.Equal(t, "<s>hello</s>", tok.DecodeSpecial(ids))
	assert.Equal(t, "hello", tok.Decode(ids))

	// Without ParseSpecial the markup is plain text: '<', 's', '>' are not
	// pieces and fall back to bytes, and no BOS/EOS ids appear.
	ids = tok.Encode("<s>hello</s>", EncodeOptions{})
	assert.NotContains(t, ids, tok.BOS())
	assert.NotContains(t, ids, tok.EOS())
	assert.Equal(t, []string{"▁", "<0x3C>", "<0x73>", "<0x3E>", "hello", "<0x3C>", "<0x2F>", "<0x73>", "<0x3E>"}, pieces(tok, ids))
	assert.Equal(t, "<s>hello</s>", tok.Decode(ids))

	// After a special token the next text gets the space prefix again.
	ids = tok.Encode("hello<s>hello", EncodeOptions{ParseSpecial: true})
	assert.Equal(t, []string{"▁hello", "<s>", "▁hello"}, pieces(tok, ids))
	assert.Equal(t, "hello<s>hello", tok.DecodeSpecial(ids))
}

func TestUserDefinedAlwaysSplitLongestFirst(t *testing.T) {
	v := smallVocab(map[string]float32{"▁": 0, "a": 0})
	v.Tokens = append(v.Tokens, "<x>", "<x><y>")
	v.Scores = append(v.Scores, 0, 0)
	v.Types = append(v.Types, UserDefined, UserDefined)
	tok := mustNew(t, v)
	ids := tok.Encode("a<x><y>a<x>", EncodeOptions{})
	assert.Equal(t, []string{"▁", "a", "<x><y>", "▁", "a", "<x>"}, pieces(tok, ids))
	// User-defined tokens render as their text; the prefix after them is removed.
	assert.Equal(t, "a<x><y>a<x>", tok.Decode(ids))
}

func TestEOG(t *testing.T) {
	v := smallVocab(map[string]float32{"<|end|>": 0, "x": 0})
	v.EOG = []int32{3}
	tok := mustNew(t, v)
	end := idOf(t, tok, "<|end|>")
	assert.True(t, tok.IsEOG(tok.EOS()))
	assert.True(t, tok.IsEOG(3))
	assert.True(t, tok.IsEOG(end), "end-of-turn text is end of generation")
	assert.Equal(t, Control, tok.Type(end), "and is treated as a control token")
	assert.False(t, tok.IsEOG(tok.BOS()))
	assert.False(t, tok.IsEOG(idOf(t, tok, "x")))
	assert.False(t, tok.IsEOG(-1))
}

func TestDecodeRules(t *testing.T) {
	tok := mustNew(t, smallVocab(map[string]float32{"▁": 0, "▁hi": 0, "hi": 0}))
	hi, shi := idOf(t, tok, "hi"), idOf(t, tok, "▁hi")
	assert.Equal(t, "hi hi", tok.Decode([]int32{shi, shi}))
	assert.Equal(t, "hi hi", tok.Decode([]int32{1, shi, shi, 2}))
	assert.Equal(t, "<s>hi hi</s>", tok.DecodeSpecial([]int32{1, shi, shi, 2}))
	assert.Equal(t, "hihi", tok.Decode([]int32{hi, hi}))
	assert.Equal(t, "\n", tok.Decode([]int32{3 + '\n'}))
	assert.Equal(t, "hi\uFFFD", tok.Decode([]int32{hi, 99999}), "ids out of range show as U+FFFD")
	assert.Equal(t, "", tok.Piece(-3))
	assert.Equal(t, "<0x0A>", tok.Piece(3+'\n'))
}

func TestStreamDecoderHoldsPartialCharacters(t *testing.T) {
	tok := mustNew(t, smallVocab(map[string]float32{"▁": 0, "a": 0, "▁a": 1}))
	ids := tok.Encode("a €a", EncodeOptions{AddSpecial: true})
	require.Equal(t, []string{"<s>", "▁a", "▁", "<0xE2>", "<0x82>", "<0xAC>", "a"}, pieces(tok, ids))

	d := tok.NewStreamDecoder()
	var got []string
	for _, id := range ids {
		got = append(got, d.Next(id))
	}
	got = append(got, d.Flush())
	assert.Equal(t, []string{"", "a", " ", "", "", "€", "a", ""}, got)
	assert.Equal(t, tok.Decode(ids), strings.Join(got, ""))
}

func TestStreamDecoderFlushesInvalidBytes(t *testing.T) {
	tok := mustNew(t, smallVocab(map[string]float32{"a": 0}))
	b := func(x byte) int32 { return 3 + int32(x) }
	d := tok.NewStreamDecoder()
	// A lead byte followed by a non-continuation: invalid as soon as known.
	assert.Equal(t, "", d.Next(b(0xE2)))
	assert.Equal(t, "\uFFFDa", d.Next(idOf(t, tok, "a")))
	// A lone continuation byte is invalid at once.
	assert.Equal(t, "\uFFFD", d.Next(b(0x82)))
	// An unfinished sequence at the end comes out at Flush, one U+FFFD per byte.
	assert.Equal(t, "", d.Next(b(0xF0)))
	assert.Equal(t, "", d.Next(b(0x9F)))
	assert.Equal(t, "\uFFFD\uFFFD", d.Flush())
	assert.Equal(t, "", d.Flush())

	ids := []int32{b(0xE2), idOf(t, tok, "a"), b(0x82), b(0xF0), b(0x9F)}
	d = tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(d.Next(id))
	}
	sb.WriteString(d.Flush())
	assert.Equal(t, string([]rune(tok.Decode(ids))), sb.String())
}

func TestNewRejectsMalformedVocab(t *testing.T) {
	base := func() Vocab { return smallVocab(map[string]float32{"a": 0}) }
	cases := []struct {
		name string
		edit func(*Vocab)
		want string
	}{
		{"empty", func(v *Vocab) { *v = Vocab{} }, "vocabulary is empty"},
		{"scores length", func(v *Vocab) { v.Scores = v.Scores[:5] }, "5 scores for 260 tokens"},
		{"types length", func(v *Vocab) { v.Types = append(v.Types, Normal) }, "261 token types for 260 tokens"},
		{"bos range", func(v *Vocab) { v.BOS = 260 }, "BOS id 260 is out of range"},
		{"eos range", func(v *Vocab) { v.EOS = -2 }, "EOS id -2 is out of range"},
		{"unk range", func(v *Vocab) { v.UNK = 1 << 30 }, "UNK id 1073741824 is out of range"},
		{"add bos without bos", func(v *Vocab) { v.BOS = -1 }, "AddBOS is set but the vocabulary has no BOS"},
		{"add eos without eos", func(v *Vocab) { v.AddEOS, v.EOS = true, -1 }, "AddEOS is set but the vocabulary has no EOS"},
		{"duplicate", func(v *Vocab) { v.Tokens[259] = "<s>" }, `tokens 1 and 259 have the same text "<s>"`},
		{"bad type", func(v *Vocab) { v.Types[259] = 9 }, "invalid type 9"},
		{"bad byte token", func(v *Vocab) { v.Types[259] = Byte }, `byte token 259 has text "a"`},
		{"nan score", func(v *Vocab) { v.Scores[259] = float32(math.NaN()) }, "NaN score"},
		{"eog range", func(v *Vocab) { v.EOG = []int32{300} }, "end-of-generation id 300 is out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := base()
			c.edit(&v)
			tok, err := New(v)
			require.ErrorContains(t, err, c.want)
			assert.Nil(t, tok)
		})
	}
	_, err := New(base())
	require.NoError(t, err)
}

func TestNewCopiesInput(t *testing.T) {
	v := smallVocab(map[string]float32{"a": 0})
	tok := mustNew(t, v)
	v.Tokens[259] = "zz"
	assert.Equal(t, "a", tok.Piece(259))
}

func TestNilScoresAndTypes(t *testing.T) {
	tok := mustNew(t, Vocab{Tokens: []string{"<unk>", "▁", "x"}, UNK: 0, BOS: -1, EOS: -1, AddSpacePrefix: true})
	assert.Equal(t, Normal, tok.Type(0))
	assert.Equal(t, []int32{1, 2}, tok.Encode("x", EncodeOptions{}))
}
