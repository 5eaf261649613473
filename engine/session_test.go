package engine_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/sample"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// probe wraps a backend to record which step sizes are compiled and
// closed, and to tamper with the logits of chosen steps.
type probe struct {
	engine.Backend
	compiled, closed []int
	tamper           func(n, pos0 int, logits []float32) []float32
}

func (p *probe) Compile(pl *plan.Plan) (engine.Program, error) {
	prog, err := p.Backend.Compile(pl)
	if err != nil {
		return nil, err
	}
	p.compiled = append(p.compiled, pl.N)
	return &probedProgram{Program: prog, n: pl.N, probe: p}, nil
}

type probedProgram struct {
	engine.Program
	n     int
	probe *probe
}

func (pp *probedProgram) Run(tokens []int32, pos0 int) ([]float32, error) {
	out, err := pp.Program.Run(tokens, pos0)
	if err == nil && pp.probe.tamper != nil {
		out = pp.probe.tamper(pp.n, pos0, out)
	}
	return out, err
}

func (pp *probedProgram) Close() error {
	pp.probe.closed = append(pp.probe.closed, pp.n)
	return nil
}

func TestASecondGenerateContinuesWithoutBOS(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	want, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
	require.NoError(t, err)
	s := f.session(t, engine.Options{})
	first, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{MaxTokens: 4})
	require.NoError(t, err)
	require.Equal(t, want.GreedyIDs[:4], first.Tokens)
	second, err := engine.Generate(s, f.tok, "and then", engine.GenerateOptions{MaxTokens: 3})
	require.NoError(t, err)

	turn2 := f.tok.Encode("and then", tokenizer.EncodeOptions{})
	require.NotContains(t, turn2, f.tok.BOS())
	// The cache holds both turns with one BOS at the start, and the last
	// token of the first turn, sampled but not yet fed when it stopped,
	// before the second prompt; the second turn's last token is pending.
	history := slices.Concat(want.PromptIDs, first.Tokens, turn2, second.Tokens[:2])
	require.Equal(t, history, s.Tokens())
	require.Equal(t, 1+len(turn2), second.PromptTokens)

	// The continuation is what one prefill of the whole text predicts.
	fresh := f.session(t, engine.Options{})
	logits, err := fresh.Prefill(slices.Concat(want.PromptIDs, first.Tokens, turn2))
	require.NoError(t, err)
	greedy, err := sample.New(sample.Options{})
	require.NoError(t, err)
	require.Equal(t, second.Tokens[0], greedy.Sample(logits))

	// Reset starts a new conversation, with BOS again.
	s.Reset()
	again, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{MaxTokens: 4})
	require.NoError(t, err)
	require.Equal(t, first.Tokens, again.Tokens)
	require.Equal(t, slices.Concat(want.PromptIDs, first.Tokens[:3]), s.Tokens())
}

func TestAFailedPrefillLeavesTheSessionAsItWas(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	opts := engine.Options{Context: 12, PrefillChunk: 4}
	s := f.session(t, opts)
	start := []int32{1, 403, 407}
	_, err := s.Prefill(start)
	require.NoError(t, err)

	// The first chunk (positions 3..6) runs, the second has an id outside
	// the 512-token vocabulary: both are undone.
	_, err = s.Prefill([]int32{261, 378, 10, 20, 30, 999, 40})
	require.ErrorContains(t, err, "id 999, outside the vocabulary of 512 tokens")
	require.Equal(t, 3, s.Pos())
	require.Equal(t, start, s.Tokens())

	_, err = s.Prefill(make([]int32, 10))
	var full *engine.ErrContextFull
	require.ErrorAs(t, err, &full)
	require.Equal(t, start, s.Tokens())

	// The session goes on exactly as one that never failed.
	got, err := s.Prefill([]int32{261, 378})
	require.NoError(t, err)
	got = slices.Clone(got)
	ref := f.session(t, opts)
	_, err = ref.Prefill(start)
	require.NoError(t, err)
	want, err := ref.Prefill([]int32{261, 378})
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, ref.Tokens(), s.Tokens())
}

func TestEmptyPromptsAreErrors(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{})
	for _, prompt := range [][]int32{nil, {}} {
		_, err := s.Prefill(prompt)
		require.EqualError(t, err, "nothing to prefill: the prompt has no tokens")
	}
	_, err := s.Step(nil)
	require.EqualError(t, err, "empty step: no tokens to run")
	require.Equal(t, 0, s.Pos())

	_, err = engine.Generate(s, f.tok, "Once", engine.GenerateOptions{MaxTokens: 1})
	require.NoError(t, err)
	_, err = engine.Generate(s, f.tok, "", engine.GenerateOptions{MaxTokens: 1})
	require.EqualError(t, err, "the prompt is empty (a continued conversation adds no BOS token)")
}

func TestTheProgramCacheIsBounded(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	p := &probe{Backend: f.b}
	s, err := engine.NewSession(f.model, p, engine.Options{})
	require.NoError(t, err)
	ids := make([]int32, 24)
	for i := range ids {
		ids[i] = int32(3 + i)
	}
	turn := func(n int, decode bool) {
		s.Reset()
		_, err := s.Prefill(ids[:n])
		require.NoError(t, err)
		if decode {
			_, err = s.Step([]int32{5})
			require.NoError(t, err)
		}
		require.LessOrEqual(t, len(s.CachedStepSizes()), engine.MaxPrograms)
	}
	// Turns of 2..20 prompt tokens, each followed by decoding: the least
	// recently used size goes, the decode program stays.
	for n := 2; n <= 20; n++ {
		turn(n, true)
	}
	require.Equal(t, []int{18, 19, 20, 1}, s.CachedStepSizes())
	// Prefill only: the decode program becomes the least recently used and
	// is still kept.
	for n := 21; n <= 24; n++ {
		turn(n, false)
	}
	require.Equal(t, []int{1, 22, 23, 24}, s.CachedStepSizes())

	var evicted []int
	for n := 2; n <= 21; n++ {
		evicted = append(evicted, n)
	}
	require.Equal(t, evicted, p.closed, "evicted programs are closed, oldest first")
	require.Equal(t, 1, count(p.compiled, 1), "the decode program was compiled once")
	require.Len(t, p.compiled, len(p.closed)+engine.MaxPrograms, "every other program is still cached")
}

func count(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// nanModel is stories260K with a NaN in the output weights' row of token
// 100: every position's logit of that token is NaN, the others are fine.
func nanModel(t *testing.T) string {
	return testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		m.SetF32(t, "output.weight", 100*64, float32(math.NaN()))
	})
}

func TestNonFiniteLogitsStopGeneration(t *testing.T) {
	f := openFile(t, nanModel(t))
	s := f.session(t, engine.Options{})
	var text string
	_, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{
		MaxTokens: 8, OnText: func(t string) error { text += t; return nil }})
	// The prompt fills positions 0..4; the last one's logits are checked.
	require.EqualError(t, err, "engine: logits at position 4 are not finite (NaN); the model's weights may be corrupt (try --check-tensors)")
	require.Empty(t, text)
	require.Equal(t, 0, s.Pos(), "the failed prefill is undone")
}

func TestNonFiniteLogitsOfADecodeStepStopGeneration(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	p := &probe{Backend: f.b, tamper: func(n, pos0 int, logits []float32) []float32 {
		if n == 1 && pos0 == 7 {
			logits = slices.Clone(logits)
			logits[3] = float32(math.Inf(1))
		}
		return logits
	}}
	s, err := engine.NewSession(f.model, p, engine.Options{})
	require.NoError(t, err)
	st, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{MaxTokens: 10})
	require.EqualError(t, err, "engine: logits at position 7 are not finite (+Inf); the model's weights may be corrupt (try --check-tensors)")
	// Tokens 1 and 2 were fed at positions 5 and 6; token 3's step failed.
	require.Equal(t, 3, st.Generated)
	require.Equal(t, 7, s.Pos())
}

func TestTextCallbackErrorStopsGeneration(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{})
	lost := errors.New("no space left on device")
	calls := 0
	st, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{
		MaxTokens: 16, OnText: func(string) error { calls++; return lost }})
	require.ErrorIs(t, err, lost)
	require.Equal(t, 1, calls, "no text is computed after the output failed")
	require.Equal(t, 1, st.Generated)
}
