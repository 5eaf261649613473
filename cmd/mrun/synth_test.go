package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/modelinfo"
)

func TestSynthRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		typ, mix string
		types    map[string]int
	}{
		{"q4_0", "Q4_0, output.weight Q6_K", map[string]int{"Q4_0": 15, "Q6_K": 1, "F32": 5}},
		{"q8_0", "Q8_0", map[string]int{"Q8_0": 16, "F32": 5}},
		{"f16", "F16", map[string]int{"F16": 16, "F32": 5}},
	} {
		out := filepath.Join(dir, "tiny-"+c.typ+".gguf")
		rc, stdout, stderr := mrun(t, "", "synth", "--shape", "tiny", "--type", c.typ, "--seed", "5", "-o", out)
		require.Equal(t, 0, rc, stderr)
		assert.Regexp(t, `^wrote `+regexp.QuoteMeta(out)+`: tiny `+c.typ+` seed 5, [0-9.]+ MiB \(\d+ bytes\) in [0-9.]+s \(\d+ MB/s\)\n$`, stdout)
		assert.Contains(t, stderr, "synth: 100%", "progress reaches 100%")

		rc, js, stderr := mrun(t, "", "inspect", out, "--json")
		require.Equal(t, 0, rc, stderr)
		var info modelinfo.Info
		require.NoError(t, json.Unmarshal([]byte(js), &info))
		assert.Equal(t, "llama", info.Architecture)
		assert.Equal(t, "synth-tiny-"+c.typ+"-seed5", info.Name)
		assert.Equal(t, c.mix, info.QuantMix)
		types := map[string]int{}
		for _, tc := range info.TensorTypes {
			types[tc.Type] = tc.Count
		}
		assert.Equal(t, c.types, types)
		require.NotNil(t, info.Hyperparameters, info.HyperparametersError)
		h := info.Hyperparameters
		assert.Equal(t, []int{256, 2, 8, 4, 768, 512, 512}, []int{h.Dim, h.Layers, h.Heads, h.KVHeads, h.FFN, h.Vocab, h.Context})
		assert.Equal(t, int64(1836288), info.Parameters)
		st, err := os.Stat(out)
		require.NoError(t, err)
		assert.Equal(t, st.Size(), info.FileSize)
	}
}

func TestSynthVocabFrom(t *testing.T) {
	vocab := shareddata.Path(t, "models", "stories260K.gguf")
	out := filepath.Join(t.TempDir(), "tiny.gguf")
	rc, _, stderr := mrun(t, "", "synth", "-o", out, "--vocab-from", vocab, "--type", "q8_0")
	require.Equal(t, 0, rc, stderr)
	rc, stdout, stderr := mrun(t, "", "tokenize", "-m", out, "Once upon a time")
	require.Equal(t, 0, rc, stderr)
	assert.Equal(t, "1 403 407 261 378\n", stdout, "the copied tokenizer behaves like the original")
}

func TestSynthErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"--shape", "tiny"}, 2, "-o OUT.gguf is required"},
		{[]string{"--shape", "huge", "-o", filepath.Join(dir, "x.gguf")}, 2, `unknown shape "huge" (want tiny, mistral-7b)`},
		{[]string{"--type", "q5_1", "-o", filepath.Join(dir, "x.gguf")}, 2, `unknown type "q5_1"`},
		{[]string{"-o", filepath.Join(dir, "x.gguf"), "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"-o", filepath.Join(dir, "no", "such", "dir", "x.gguf")}, 1, "no such file or directory"},
		{[]string{"-o", filepath.Join(dir, "x.gguf"), "--vocab-from", filepath.Join(dir, "missing.gguf")}, 1, "missing.gguf"},
	} {
		rc, stdout, stderr := mrun(t, "", append([]string{"synth"}, c.args...)...)
		assert.Equal(t, c.rc, rc, "%v", c.args)
		assert.Empty(t, stdout)
		requireOneLine(t, stderr)
		assert.Contains(t, stderr, c.msg)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	assert.Empty(t, names, "failed runs leave no files: %s", strings.Join(names, " "))
}
