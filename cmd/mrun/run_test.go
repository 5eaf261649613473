package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
)

func TestRunPrintsLlamaCppsGreedyText(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	want, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
	require.NoError(t, err)
	rc, out, errOut := mrun(t, "", "run", "-m", model, "-p", "Once upon a time", "-n", "32", "--temp", "0")
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, want.GreedyText+"\n", out)
	assert.Contains(t, errOut, "prompt: 5 tokens")
	assert.Contains(t, errOut, "generated: 32 tokens")
	assert.Contains(t, errOut, "stop: length")

	// The prompt from standard input, an F16 cache, sampling with a seed:
	// the same seed gives the same text.
	args := []string{"run", "-m", model, "-p", "-", "-n", "16", "--seed", "7", "--kv", "f16", "--threads", "1"}
	rc1, out1, _ := mrun(t, "Once upon a time", args...)
	rc2, out2, _ := mrun(t, "Once upon a time", args...)
	require.Equal(t, 0, rc1)
	require.Equal(t, 0, rc2)
	assert.Equal(t, out1, out2)
}

func TestRunRejectsBadInputWithOneLine(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	broken := testmodel.Rewrite(t, model, func(m *testmodel.Model) {
		m.SetKV("llama.embedding_length", gguf.Uint32Value(128))
	})
	long := strings.Repeat("word ", 100)
	cases := []struct {
		name string
		args []string
		rc   int
		want string
	}{
		{"prompt longer than the context", []string{"-m", model, "-p", long, "--ctx", "64"}, 1,
			"tokens does not fit the context of 64 tokens (64 free)"},
		{"-n 0", []string{"-m", model, "-p", "hi", "-n", "0"}, 2, "-n 0: the number of tokens to generate must be positive"},
		{"unknown backend", []string{"-m", model, "-p", "hi", "--backend", "tpu"}, 2, `unknown backend "tpu"`},
		{"metal on linux", []string{"-m", model, "-p", "hi", "--backend", "metal"}, 1, "Metal needs macOS on Apple Silicon"},
		{"tensors do not match the metadata", []string{"-m", broken, "-p", "hi"}, 1,
			"tensor token_embd.weight has shape [64 512], want [128 512]"},
		{"missing model", []string{"-m", "/nonexistent.gguf", "-p", "hi"}, 1, "no such file"},
		{"no model", []string{"-p", "hi"}, 2, "-m FILE is required"},
		{"bad temperature", []string{"-m", model, "-p", "hi", "--temp", "x"}, 2, `"x" is not a number`},
		{"context above the model's", []string{"-m", model, "-p", "hi", "--ctx", "999999"}, 1, "exceeds the model's trained context"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "metal on linux" && isDarwin {
				t.Skip("Metal exists on macOS")
			}
			rc, out, errOut := mrun(t, "", append([]string{"run"}, c.args...)...)
			assert.Equal(t, c.rc, rc)
			assert.Empty(t, out)
			last := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
			requireOneLine(t, last)
			assert.Contains(t, last, c.want)
			assert.True(t, strings.HasPrefix(last, "mrun"), last)
		})
	}
}

func TestDemoRunsEndToEnd(t *testing.T) {
	rc, out, errOut := mrun(t, "", "demo", "-n", "8", "--threads", "2")
	require.Equal(t, 0, rc, errOut)
	for _, want := range []string{"synthesised a tiny Mistral-shaped model", "fuse_qkv", "dispatches",
		"weights read: 1.000× the ideal", "generation: 8 tokens at"} {
		assert.Contains(t, out, want)
	}
}

func TestBenchPrintsSpeeds(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	rc, out, errOut := mrun(t, "", "bench", "-m", model, "-p", "8", "-n", "4", "--reps", "1", "--threads", "2")
	require.Equal(t, 0, rc, errOut)
	assert.Contains(t, out, "prefill    8 tokens:")
	assert.Contains(t, out, "decode     4 tokens:")
	assert.Contains(t, out, "peak RSS:")
	rc, _, _ = mrun(t, "", "bench", "-m", model, "--reps", "0")
	assert.Equal(t, 2, rc)
}

// TestPrefillChunkByBackend: CUDA prefills 512 tokens a step (llama.cpp's
// micro-batch); the other backends keep the engine's default.
func TestPrefillChunkByBackend(t *testing.T) {
	require.Equal(t, 512, prefillChunk("cuda"))
	for _, b := range []string{"cpu", "metal"} {
		require.Zero(t, prefillChunk(b), b)
	}
}
