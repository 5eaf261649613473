package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

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
		{[]string{"-o", filepath.Join(dir, "no", "such", "dir", "x.gguf")}, 1, "directory " + filepath.Join(dir, "no", "such", "dir") + " does not exist"},
		{[]string{"-o", filepath.Join(dir, "x.gguf"), "--vocab-from", filepath.Join(dir, "missing.gguf")}, 1, "missing.gguf"},
	} {
		rc, stdout, stderr := mrun(t, "", append([]string{"synth"}, c.args...)...)
		assert.Equal(t, c.rc, rc, "%v", c.args)
		assert.Empty(t, stdout)
		requireOneLine(t, stderr)
		assert.Contains(t, stderr, c.msg)
	}
	assert.Empty(t, dirNames(t, dir), "failed runs leave no files")
}

// TestSynthOutputSafety: synth never replaces what it should not, and
// says so before generating (a Mistral-7B would take minutes).
func TestSynthOutputSafety(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.gguf")
	require.NoError(t, os.WriteFile(existing, []byte("precious"), 0o600))
	link := filepath.Join(dir, "link.gguf")
	require.NoError(t, os.Symlink(existing, link))
	fifo := filepath.Join(dir, "fifo.gguf")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	missing := filepath.Join(dir, "missing")

	for _, c := range []struct {
		out   string
		force bool
		msg   string
	}{
		{existing, false, existing + " already exists (--force replaces it)"},
		{link, false, link + " is a symbolic link, not a regular file: refusing to replace it"},
		{link, true, link + " is a symbolic link, not a regular file: refusing to replace it"},
		{fifo, true, fifo + " is a named pipe (FIFO), not a regular file: refusing to replace it"},
		{os.DevNull, false, os.DevNull + " is a device, not a regular file: refusing to replace it"},
		{os.DevNull, true, os.DevNull + " is a device, not a regular file: refusing to replace it"},
		{sub, true, sub + " is a directory, not a regular file: refusing to replace it"},
		{sub + "/", false, sub + "/ is a directory, not a regular file: refusing to replace it"},
		{filepath.Join(missing, "m.gguf"), true, "cannot write " + filepath.Join(missing, "m.gguf") + ": directory " + missing + " does not exist"},
	} {
		args := []string{"synth", "--shape", "mistral-7b", "-o", c.out}
		if c.force {
			args = append(args, "--force")
		}
		start := time.Now()
		rc, stdout, stderr := mrun(t, "", args...)
		assert.Less(t, time.Since(start), time.Second, "%v fails before generating", args)
		assert.Equal(t, 1, rc, "%v", args)
		assert.Empty(t, stdout)
		requireOneLine(t, stderr)
		assert.Equal(t, "mrun: synth: "+c.msg+"\n", stderr, "%v", args)
	}

	data, err := os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(data), "the existing file is untouched")
	for path, typ := range map[string]fs.FileMode{existing: 0, link: fs.ModeSymlink, fifo: fs.ModeNamedPipe, sub: fs.ModeDir,
		os.DevNull: fs.ModeDevice | fs.ModeCharDevice} {
		st, err := os.Lstat(path)
		require.NoError(t, err)
		assert.Equal(t, typ, st.Mode().Type(), "%s keeps its type", path)
	}
	st, err := os.Stat(existing)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())
	assert.ElementsMatch(t, []string{"existing.gguf", "link.gguf", "fifo.gguf", "sub"}, dirNames(t, dir))
	assert.Empty(t, dirNames(t, sub))

	// --force replaces a regular file, keeping its permissions.
	rc, stdout, stderr := mrun(t, "", "synth", "-o", existing, "--force")
	require.Equal(t, 0, rc, stderr)
	assert.Contains(t, stdout, "wrote "+existing+": tiny q4_0 seed 1")
	data, err = os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "GGUF", string(data[:4]))
	st, err = os.Stat(existing)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())
	assert.ElementsMatch(t, []string{"existing.gguf", "link.gguf", "fifo.gguf", "sub"}, dirNames(t, dir))
}

// dirNames lists a directory's entries.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}
