//go:build linux

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
)

// specialFileRows give a model path that is no model file, or standard
// output that cannot be written.
func specialFileRows(t *testing.T, dir string) []hostileRow {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	fifo := filepath.Join(dir, "fifo.gguf")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	empty := filepath.Join(dir, "empty.gguf")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	text := filepath.Join(dir, "text.gguf")
	require.NoError(t, os.WriteFile(text, []byte("Once upon a time there was a model.\n"), 0o644))
	missing := filepath.Join(dir, "missing.gguf")
	run := func(path string) []string { return []string{"run", "-m", path, "-p", "Once", "-n", "2"} }
	return []hostileRow{
		{name: "-m a directory", args: run(dir), rc: 1, want: []string{dir, "directory"}},
		{name: "-m a FIFO", args: run(fifo), rc: 1, want: []string{fifo, "named pipe"}},
		{name: "inspect a FIFO", args: []string{"inspect", fifo}, rc: 1, want: []string{fifo, "named pipe"}},
		{name: "-m /dev/null", args: run("/dev/null"), rc: 1, want: []string{"/dev/null", "not a regular file"}},
		{name: "inspect /dev/zero", args: []string{"inspect", "/dev/zero"}, rc: 1, want: []string{"/dev/zero", "not a regular file"}},
		{name: "-m a missing file", args: run(missing), rc: 1, want: []string{missing, "no such file"}},
		{name: "-m an empty file", args: run(empty), rc: 1, want: []string{empty, "empty"}},
		{name: "tokenize -m a text file", args: []string{"tokenize", "-m", text, "hi"}, rc: 1, want: []string{text, "not a GGUF file"}},
		{name: "run > /dev/full", args: []string{"run", "-m", model, "-p", "Once", "-n", "2", "--temp", "0"}, stdout: "/dev/full",
			rc: 1, want: []string{"writing output", "no space left on device"}},
		{name: "tokenize > /dev/full", args: []string{"tokenize", "-m", model, "Once"}, stdout: "/dev/full",
			rc: 1, want: []string{"writing output", "no space left on device"}},
		{name: "inspect > /dev/full", args: []string{"inspect", model}, stdout: "/dev/full",
			rc: 1, want: []string{"writing output", "no space left on device"}},
	}
}

// testSynthFileSafety: synth refuses to replace what is not a new file or,
// without --force, an existing one, before generating (a Mistral-7B shape
// would outlast the row's timeout), and leaves everything as it was.
func testSynthFileSafety(t *testing.T, bin string) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.gguf")
	require.NoError(t, os.WriteFile(existing, []byte("precious"), 0o640))
	link := filepath.Join(dir, "link.gguf")
	require.NoError(t, os.Symlink(existing, link))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	noParent := filepath.Join(dir, "missing", "m.gguf")
	synth := func(out string, extra ...string) []string {
		return append([]string{"synth", "--shape", "mistral-7b", "-o", out}, extra...)
	}
	for _, r := range []hostileRow{
		{name: "existing file", args: synth(existing), rc: 1, want: []string{existing, "already exists", "--force"}},
		{name: "device node", args: synth(os.DevNull), rc: 1, want: []string{os.DevNull, "device", "not a regular file"}},
		{name: "device node with --force", args: synth(os.DevNull, "--force"), rc: 1, want: []string{os.DevNull, "device"}},
		{name: "symlink", args: synth(link, "--force"), rc: 1, want: []string{link, "symbolic link"}},
		{name: "directory", args: synth(sub), rc: 1, want: []string{sub, "directory"}},
		{name: "missing parent directory", args: synth(noParent), rc: 1, want: []string{filepath.Dir(noParent), "does not exist"}},
	} {
		t.Run(r.name, func(t *testing.T) { checkRow(t, r, runMrun(t, bin, r)) })
	}
	data, err := os.ReadFile(existing)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(data), "the existing file is untouched")
	st, err := os.Stat(existing)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o640), st.Mode(), "the existing file keeps its mode")
	target, err := os.Readlink(link)
	require.NoError(t, err)
	assert.Equal(t, existing, target, "the link is untouched")
	st, err = os.Lstat(os.DevNull)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeDevice|fs.ModeCharDevice, st.Mode().Type(), "%s is still a character device", os.DevNull)
	assert.ElementsMatch(t, []string{"existing.gguf", "link.gguf", "sub"}, dirNames(t, dir), "nothing else was written")
	assert.Empty(t, dirNames(t, sub))
}

// testSynthInterrupted stops a Mistral-7B synthesis with SIGINT once its
// temporary file holds data: mrun exits non-zero within seconds, in at
// most two lines, and leaves no file.
func testSynthInterrupted(t *testing.T, bin string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m7b.gguf")
	cmd := limitedCommand(t.Context(), bin, "synth", "--shape", "mistral-7b", "-o", out)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(rowTimeout)
	for !tempHasData(t, dir) {
		require.True(t, time.Now().Before(deadline), "no temporary file with data after %s; stderr: %s", rowTimeout, stderr)
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case <-done:
	case <-time.After(rowTimeout):
		cmd.Process.Kill()
		t.Fatalf("synth still runs %s after SIGINT; stderr: %s", rowTimeout, stderr)
	}
	o := outcome{rc: cmd.ProcessState.ExitCode(), stderr: stderr.String(),
		maxRSS: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10}
	checkRow(t, hostileRow{rc: 1, want: []string{"interrupt", out}}, o)
	assert.Empty(t, dirNames(t, dir), "the temporary file is removed")
}

// testModelTextEscaped: a general.name holding an escape sequence is shown
// escaped by inspect and run; the raw ESC and BEL never reach the terminal.
func testModelTextEscaped(t *testing.T, bin string) {
	model := testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		m.SetKV("general.name", gguf.StringValue(evilName))
	})
	for _, args := range [][]string{
		{"inspect", model},
		{"inspect", model, "--json"},
		{"run", "-m", model, "-p", "Once", "-n", "2", "--temp", "0"},
	} {
		o := runMrun(t, bin, hostileRow{name: strings.Join(args, " "), args: args})
		assert.Equal(t, 0, o.rc, "%v: %s", args, o.stderr)
		assert.Contains(t, o.stdout+o.stderr, `evil\`, "%v shows the name escaped", args)
		for _, raw := range []string{"\x1b", "\a"} {
			assert.NotContains(t, o.stdout, raw, "%v", args)
			assert.NotContains(t, o.stderr, raw, "%v", args)
		}
	}
}
