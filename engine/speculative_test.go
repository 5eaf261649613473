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
	"The cat sat on the mat.",
}

// generate returns the text and stats of one greedy generation on a fresh
// session of f, with spec (nil: plain decoding).
func generate(t *testing.T, f fixture, prompt string, n int, spec *engine.Speculation) (string, engine.Stats) {
	t.Helper()
	var text strings.Builder
	st, err := engine.Generate(f.session(t, engine.Options{}), f.tok, prompt, engine.GenerateOptions{
		MaxTokens:   n,
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
			for _, prompt := range specPrompts {
				want, plain := generate(t, c.target, prompt, 60, nil)
				for _, k := range []int{1, 3, engine.MaxDraftMax} {
					got, st := generate(t, c.target, prompt, 60, &engine.Speculation{Drafter: c.drafter(t), DraftMax: k})
					require.Equal(t, want, got, "prompt %q, draft-max %d", prompt, k)
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
