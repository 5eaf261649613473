package engine_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/sample"
)

var specPrompts = []string{
	"Once upon a time",
	"Lily and Ben went to the park. Lily and Ben went to the park. Lily and",
	"The cat sat on the café mat, naïve « Ünïcode ».",
}

// generate returns the text and stats of one generation on a fresh session
// of f, with spec (nil: plain decoding).
func generate(t *testing.T, f fixture, prompt string, n int, o sample.Options, spec *engine.Speculation) (string, engine.Stats) {
	t.Helper()
	var text strings.Builder
	st, err := engine.Generate(f.session(t, engine.Options{}), f.tok, prompt, engine.GenerateOptions{
		MaxTokens:   n,
		Sampling:    o,
		Speculation: spec,
		OnText:      func(s string) error { text.WriteString(s); return nil },
	})
	require.NoError(t, err)
	return text.String(), st
}

func TestSpeculativeGreedyEqualsPlainDecoding(t *testing.T) {
	stories := open(t, "models", "stories260K.gguf")
	q8 := open(t, "models", "derived", "stories260K-ffn192-Q8_0.gguf")
	q4 := open(t, "models", "derived", "stories260K-ffn192-Q4_0.gguf")
	f32 := open(t, "models", "derived", "stories260K-ffn192-f32.gguf")
	random := open(t, "models", "llama-2-tiny-random.gguf")

	draftModel := func(target, draft fixture) func(t *testing.T) engine.Drafter {
		return func(t *testing.T) engine.Drafter {
			d, err := engine.NewDraftModel(draft.session(t, engine.Options{}), draft.tok, target.tok, sample.Options{})
			require.NoError(t, err)
			return d
		}
	}
	translating := func(target, draft fixture) func(t *testing.T) engine.Drafter {
		return func(t *testing.T) engine.Drafter {
			return engine.NewTranslatingDraft(draft.session(t, engine.Options{}), draft.tok, target.tok)
		}
	}
	cases := []struct {
		name    string
		target  fixture
		drafter func(t *testing.T) engine.Drafter
		// accepts: the drafter must get some tokens accepted on these
		// models, or the test would pass without verifying anything.
		accepts bool
	}{
		{"lookup", stories, func(*testing.T) engine.Drafter { return engine.PromptLookup{N: 3} }, true},
		{"lookup-2", stories, func(*testing.T) engine.Drafter { return engine.PromptLookup{N: 2} }, true},
		{"draft-Q4_0-for-Q8_0", q8, draftModel(q8, q4), true},
		{"translate-random-for-stories", f32, translating(f32, random), false},
		{"translate-stories-for-random", random, translating(random, f32), false},
		{"translate-same-vocab", q8, translating(q8, q4), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var total engine.SpecStats
			// The repetition penalty depends on the tokens accepted so far:
			// verification must apply it as plain decoding does.
			penalty := sample.Options{RepeatPenalty: 1.5, RepeatLastN: 16}
			for i, prompt := range specPrompts {
				o := sample.Options{}
				if i == len(specPrompts)-1 {
					o = penalty
				}
				want, plain := generate(t, c.target, prompt, 60, o, nil)
				for _, k := range []int{1, engine.MaxDraftMax} {
					got, st := generate(t, c.target, prompt, 60, o, &engine.Speculation{Drafter: c.drafter(t), DraftMax: k})
					require.Equal(t, want, got, "prompt %q, draft-max %d, %+v", prompt, k, o)
					require.Equal(t, plain.Tokens, st.Tokens)
					require.Equal(t, plain.StopReason, st.StopReason)
					require.LessOrEqual(t, st.Spec.Accepted, st.Spec.Drafted)
					if st.StopReason == engine.StopLength {
						require.Equal(t, st.Generated, 1+st.Spec.TargetSteps+st.Spec.Accepted,
							"the prefill yields one token, every step its accepted drafts and one more")
					}
					total.Drafted += st.Spec.Drafted
					total.Accepted += st.Spec.Accepted
				}
			}
			t.Logf("%s: %d drafted, %d accepted (%.0f%%)", c.name, total.Drafted, total.Accepted, 100*total.AcceptanceRate())
			if c.accepts {
				require.Positive(t, total.Accepted)
			}
		})
	}
}

func TestTruncateRollsBackForTheNextStep(t *testing.T) {
	f := open(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	s := f.session(t, engine.Options{})
	_, err := s.Prefill([]int32{1, 10, 20, 30, 40, 50})
	require.NoError(t, err)
	require.NoError(t, s.Truncate(3))
	require.Equal(t, []int32{1, 10, 20}, s.Tokens())
	got, err := s.Step([]int32{77, 88})
	require.NoError(t, err)

	fresh := f.session(t, engine.Options{})
	want, err := fresh.Prefill([]int32{1, 10, 20, 77, 88})
	require.NoError(t, err)
	vocab := s.Config().Vocab
	require.InDeltaSlice(t, want, got[vocab:], 1e-3, "the rolled-back positions were overwritten, not attended to")

	require.EqualError(t, s.Truncate(6), "cannot truncate to position 6: the session holds 5")
	require.EqualError(t, s.Truncate(-1), "cannot truncate to position -1: the session holds 5")
}

func TestVerificationProgramsStayCached(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	p := &probe{Backend: f.b}
	s, err := engine.NewSession(f.model, p, engine.Options{})
	require.NoError(t, err)
	spec := &engine.Speculation{Drafter: engine.PromptLookup{N: 1}, DraftMax: engine.MaxDraftMax}
	for _, prompt := range specPrompts {
		s.Reset()
		_, err := engine.Generate(s, f.tok, prompt, engine.GenerateOptions{MaxTokens: 80, Speculation: spec})
		require.NoError(t, err)
	}
	for _, n := range p.compiled {
		require.Equal(t, 1, count(p.compiled, n), "step size %d compiled once, in %v", n, p.compiled)
	}
	require.Empty(t, p.closed)
}

func TestSpeculativeSamplingIsSeededAndValid(t *testing.T) {
	target := open(t, "models", "derived", "stories260K-ffn192-Q8_0.gguf")
	draft := open(t, "models", "derived", "stories260K-ffn192-Q4_0.gguf")
	o := sample.Defaults()
	o.Seed = 9
	run := func() engine.Stats {
		d, err := engine.NewDraftModel(draft.session(t, engine.Options{}), draft.tok, target.tok, o)
		require.NoError(t, err)
		_, st := generate(t, target, "Once upon a time", 64, o, &engine.Speculation{Drafter: d})
		return st
	}
	a, b := run(), run()
	require.Equal(t, a.Tokens, b.Tokens, "the same seed gives the same text")
	require.Positive(t, a.Spec.Accepted, "a close draft gets tokens accepted at temperature %g", o.Temperature)
	require.Less(t, a.Spec.Accepted, a.Spec.Drafted)
}

// draftOf proposes a fixed draft, for checking what Generate does with a
// drafter's mistakes.
type draftOf engine.Draft

func (d draftOf) Draft([]int32, int) (engine.Draft, error) { return engine.Draft(d), nil }

func TestABadDraftIsAnError(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	for _, c := range []struct {
		draft engine.Draft
		want  string
	}{
		{engine.Draft{Tokens: []int32{5, 512}}, "draft: token 512 is outside the target's vocabulary of 512"},
		{engine.Draft{Tokens: []int32{-1}}, "draft: token -1 is outside the target's vocabulary of 512"},
		{engine.Draft{Tokens: []int32{5}, Probs: [][]float64{}}, "draft: 1 tokens but 0 distributions"},
		{engine.Draft{Tokens: []int32{5}, Probs: [][]float64{make([]float64, 3)}}, "draft: distribution 0 has 3 entries for a vocabulary of 512"},
	} {
		_, err := engine.Generate(f.session(t, engine.Options{}), f.tok, "Once upon a time", engine.GenerateOptions{
			MaxTokens: 8, Speculation: &engine.Speculation{Drafter: draftOf(c.draft)}})
		require.EqualError(t, err, c.want)
	}
}
