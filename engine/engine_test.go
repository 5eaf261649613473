package engine_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/runtimes"
	"github.com/metalgraph/metalgraph/tokenizer"
)

type fixture struct {
	model *mistral.Model
	tok   *tokenizer.Tokenizer
	b     engine.Backend
}

func open(t *testing.T, elems ...string) fixture {
	t.Helper()
	return openFile(t, shareddata.Path(t, elems...))
}

func openFile(t *testing.T, path string) fixture {
	t.Helper()
	m, err := mistral.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.FromGGUF(m.File)
	require.NoError(t, err)
	b, err := runtimes.Open("cpu", m.File.Bytes(), runtimes.Options{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return fixture{m, tok, b}
}

func (f fixture) session(t *testing.T, o engine.Options) *engine.Session {
	t.Helper()
	s, err := engine.NewSession(f.model, f.b, o)
	require.NoError(t, err)
	return s
}

func TestGreedyGenerationMatchesLlamaCpp(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	want, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
	require.NoError(t, err)
	for _, chunk := range []int{0, 2} { // whole prompt in one step, and in steps of 2
		var text strings.Builder
		st, err := engine.Generate(f.session(t, engine.Options{PrefillChunk: chunk}), f.tok, "Once upon a time",
			engine.GenerateOptions{MaxTokens: 32, OnText: func(s string) error { text.WriteString(s); return nil }})
		require.NoError(t, err)
		require.Equal(t, want.GreedyText, text.String())
		require.Equal(t, want.GreedyIDs, st.Tokens)
		require.Equal(t, engine.StopLength, st.StopReason)
		require.Equal(t, len(want.PromptIDs), st.PromptTokens)
		require.Positive(t, st.GenTPS())
		require.Positive(t, st.PromptTPS())
	}
}

func TestPromptLongerThanTheContextIsAClearError(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{Context: 4})
	_, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{MaxTokens: 4})
	require.EqualError(t, err, "prompt of 5 tokens does not fit the context of 4 tokens (4 free); raise --ctx or shorten the prompt")
	require.Equal(t, 0, s.Pos(), "nothing was run")
}

func TestGenerationStopsWhenTheContextIsFull(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{Context: 8})
	st, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{MaxTokens: 100})
	require.NoError(t, err)
	require.Equal(t, engine.StopContext, st.StopReason)
	// 5 prompt tokens fill positions 0..4; generated tokens 1..3 fill 5..7
	// and the fourth has no position left to be fed at.
	require.Equal(t, 4, st.Generated)
	require.Equal(t, 8, s.Pos())
}

func TestBadRequestsAreRejected(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{})
	_, err := engine.Generate(s, f.tok, "hi", engine.GenerateOptions{MaxTokens: 0})
	require.ErrorContains(t, err, "must be positive, got 0")
	_, err = engine.NewSession(f.model, f.b, engine.Options{Context: 4096})
	require.ErrorContains(t, err, "exceeds the model's trained context of 2048")
	_, err = s.Step(nil)
	require.Error(t, err)
}

func TestSessionsContinueAcrossStepSizesAndReset(t *testing.T) {
	f := open(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	prompt := []int32{1, 10, 20, 30, 40, 50, 60, 70, 80}
	s := f.session(t, engine.Options{PrefillChunk: 4})
	a, err := s.Prefill(prompt)
	require.NoError(t, err)
	a = append([]float32(nil), a...)
	s.Reset()
	require.Equal(t, 0, s.Pos())
	s2 := f.session(t, engine.Options{PrefillChunk: 64})
	b, err := s2.Prefill(prompt)
	require.NoError(t, err)
	require.InDeltaSlice(t, a, b, 1e-3, "chunks of 4, 4, 1 vs one step of 9")
}
