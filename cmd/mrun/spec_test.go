package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// lastLine is the last line of stderr.
func lastLine(stderr string) string {
	return stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
}

func TestADraftWithAnotherVocabularyIsRefusedWithOneLine(t *testing.T) {
	target := shareddata.Path(t, "models", "derived", "stories260K-ffn192-f32.gguf")
	draft := shareddata.Path(t, "models", "llama-2-tiny-random.gguf")
	rc, out, errOut := mrun(t, "", "run", "-m", target, "--draft", draft, "-p", "Once upon a time", "-n", "8", "--temp", "0")
	assert.Equal(t, 1, rc)
	assert.Empty(t, out)
	last := lastLine(errOut)
	requireOneLine(t, last)
	assert.Equal(t, "mrun: run: --draft "+draft+": the draft model's vocabulary (32000 tokens) differs from the target's (512 tokens); add --draft-translate to translate its drafts, or use --lookup\n", last)

	// With --draft-translate the same pair runs, and greedy text is the
	// target's own.
	rc, plain, errOut := mrun(t, "", "run", "-m", target, "-p", "Once upon a time", "-n", "24", "--temp", "0")
	require.Equal(t, 0, rc, errOut)
	rc, translated, errOut := mrun(t, "", "run", "-m", target, "--draft", draft, "--draft-translate", "-p", "Once upon a time", "-n", "24", "--temp", "0")
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, plain, translated)
	assert.Contains(t, errOut, "speculative: ")
}

func TestRunWithPromptLookupPrintsTheSameTextAndItsStatistics(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	prompt := "Lily and Ben went to the park. Lily and Ben went to the park. Lily and"
	rc, plain, errOut := mrun(t, "", "run", "-m", model, "-p", prompt, "-n", "40", "--temp", "0")
	require.Equal(t, 0, rc, errOut)
	rc, spec, errOut := mrun(t, "", "run", "-m", model, "-p", prompt, "-n", "40", "--temp", "0", "--lookup", "--lookup-ngram", "2", "--draft-max", "4")
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, plain, spec)
	assert.Regexp(t, `speculative: [1-9]\d* drafted, [1-9]\d* accepted \(\d+\.\d%\) · \d+ target steps`, errOut)

	// Sampling with a seed is deterministic with a drafter too.
	args := []string{"run", "-m", model, "-p", prompt, "-n", "24", "--seed", "3", "--lookup"}
	_, a, _ := mrun(t, "", args...)
	_, b, _ := mrun(t, "", args...)
	assert.Equal(t, a, b)
}

func TestSpeculativeFlagsAreChecked(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--lookup", "--draft", model}, "--draft and --lookup exclude each other"},
		{[]string{"--draft-translate"}, "--draft-translate needs --draft FILE"},
		{[]string{"--lookup", "--draft-max", "8"}, "--draft-max 8 must be between 1 and 7"},
		{[]string{"--lookup", "--draft-max", "0"}, "--draft-max 0 must be between 1 and 7"},
		{[]string{"--lookup", "--lookup-ngram", "0"}, "--lookup-ngram 0 must be ≥ 1"},
	}
	for _, cmd := range []string{"run", "bench"} {
		for _, c := range cases {
			rc, _, errOut := mrun(t, "", append([]string{cmd, "-m", model, "-p", "1"}, c.args...)...)
			assert.Equal(t, 2, rc, "%s %v", cmd, c.args)
			requireOneLine(t, errOut)
			assert.Contains(t, errOut, c.want)
		}
	}
	rc, _, errOut := mrun(t, "", "run", "-m", model, "-p", "hi", "--draft", "/nonexistent.gguf")
	assert.Equal(t, 1, rc)
	assert.Contains(t, lastLine(errOut), "mrun: run: --draft: ")
	assert.Contains(t, lastLine(errOut), "no such file")
}

func TestBenchComparesSpeculativeWithPlainDecoding(t *testing.T) {
	target := shareddata.Path(t, "models", "derived", "stories260K-ffn192-Q8_0.gguf")
	draft := shareddata.Path(t, "models", "derived", "stories260K-ffn192-Q4_0.gguf")
	rc, out, errOut := mrun(t, "", "bench", "-m", target, "--draft", draft, "-n", "16", "--reps", "1", "--temp", "0", "--threads", "2")
	require.Equal(t, 0, rc, errOut)
	assert.Regexp(t, `plain decode: +\d+\.\d tokens/s`, out)
	assert.Regexp(t, `speculative decode: +\d+\.\d tokens/s \(\d+\.\d\dx\)`, out)
	assert.Regexp(t, `speculative: [1-9]\d* drafted, [1-9]\d* accepted`, out)
}
