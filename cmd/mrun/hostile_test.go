//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// The hostile-input acceptance test runs the real mrun binary, in a process
// of its own, on mutated model files, hostile flags and special files, and
// checks what a user sees: a non-zero status within seconds, bounded
// memory, at most two lines naming the problem and never a trace. Linux
// only: it reads the child's peak RSS and limits its address space.

const (
	// rowTimeout: a row still running after this fails (a hang, or work
	// sized by a hostile field).
	rowTimeout = 10 * time.Second
	// maxRSS bounds the child's peak resident memory (the models are 1 MiB).
	maxRSS = 512 << 20
	// addressSpace limits the child so a runaway allocation fails at once
	// instead of hurting the machine; the bounds above are what is checked.
	addressSpace = 4 << 30
)

// traces are what a Go crash prints; none may reach the user.
var traces = []string{"goroutine ", "panic:", "runtime error", "SIGBUS", "fatal error"}

// hostileRow is one bad input and what mrun must say about it.
type hostileRow struct {
	name string
	args []string
	rc   int      // 1: failure, 2: bad usage
	want []string // words stderr must contain: the key, tensor, flag or path at fault
	// stdin returns the child's standard input (nil: empty).
	stdin func() io.Reader
	// stdout is a file the child writes its standard output to (such as
	// /dev/full) instead of a pipe the test reads.
	stdout string
}

// outcome is what one mrun process did.
type outcome struct {
	rc             int
	stdout, stderr string
	maxRSS         int64 // bytes
}

// TestHostileInputs builds mrun once and runs every row, then the checks
// that need more than a row: synth's file safety and escaped model text.
func TestHostileInputs(t *testing.T) {
	bin := buildMrun(t)
	dir := t.TempDir()
	var rows []hostileRow
	rows = append(rows, corruptFileRows(t, dir)...)
	rows = append(rows, badModelRows(t)...)
	rows = append(rows, flagRows(t)...)
	rows = append(rows, specialFileRows(t, dir)...)
	require.GreaterOrEqual(t, len(rows), 40, "issue 14 asks for at least 40 bad inputs")
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) { checkRow(t, r, runMrun(t, bin, r)) })
	}
	t.Run("synth file safety", func(t *testing.T) { testSynthFileSafety(t, bin) })
	t.Run("synth interrupted", func(t *testing.T) { testSynthInterrupted(t, bin) })
	t.Run("model text is escaped", func(t *testing.T) { testModelTextEscaped(t, bin) })
	t.Run("zero means the default", func(t *testing.T) { testZeroMeansTheDefault(t, bin) })
}

// buildMrun builds the mrun binary into a temporary directory.
func buildMrun(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mrun")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// runMrun runs bin with the row's arguments and streams under the address
// space limit, failing the test if it runs past rowTimeout.
func runMrun(t *testing.T, bin string, r hostileRow) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rowTimeout)
	defer cancel()
	cmd := limitedCommand(ctx, bin, r.args...)
	if r.stdin != nil {
		cmd.Stdin = r.stdin()
	}
	var stdout, stderr cappedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if r.stdout != "" {
		f, err := os.OpenFile(r.stdout, os.O_WRONLY, 0)
		require.NoError(t, err)
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %s (killed): mrun %s\nstderr: %s", r.name, rowTimeout, strings.Join(r.args, " "), stderr.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", r.name, err)
	}
	o := outcome{
		rc:     cmd.ProcessState.ExitCode(),
		stdout: stdout.String(),
		stderr: stderr.String(),
		maxRSS: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10, // KiB on Linux
	}
	t.Logf("mrun %s: exit %d in %s, peak RSS %d MiB", strings.Join(r.args, " "), o.rc, time.Since(start).Round(time.Millisecond), o.maxRSS>>20)
	return o
}

// cappedBuffer keeps the first captureLimit bytes written to it: a crash
// with a million goroutines prints a trace of gigabytes, which must not
// grow the test process (whose peak RSS the child's Maxrss includes, see
// checkRow). The buffer is a field, not embedded, so that io.Copy cannot
// go around Write through its ReadFrom.
type cappedBuffer struct{ buf bytes.Buffer }

const captureLimit = 64 << 10

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.buf.Write(p[:min(len(p), max(captureLimit-b.buf.Len(), 0))])
	return len(p), nil
}

func (b *cappedBuffer) String() string { return b.buf.String() }

// limitedCommand runs bin under the address-space limit: through prlimit,
// which execs it (so the process waited for, and its rusage, are mrun's),
// or else through sh's ulimit.
func limitedCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if prlimit, err := exec.LookPath("prlimit"); err == nil {
		return exec.CommandContext(ctx, prlimit, append([]string{"--as=" + strconv.Itoa(addressSpace), "--", bin}, args...)...)
	}
	script := "ulimit -v " + strconv.Itoa(addressSpace>>10) + ` && exec "$@"`
	return exec.CommandContext(ctx, "sh", append([]string{"-c", script, "sh", bin}, args...)...)
}

// checkRow asserts what every bad input must give.
func checkRow(t *testing.T, r hostileRow, o outcome) {
	t.Helper()
	assert.Equal(t, r.rc, o.rc, "exit status; stderr: %s", o.stderr)
	requireAtMostTwoLines(t, o.stderr)
	for _, s := range []string{o.stdout, o.stderr} {
		for _, trace := range traces {
			assert.NotContains(t, s, trace)
		}
		assert.NotContains(t, s, "\x1b", "a raw escape reaches the terminal")
	}
	for _, w := range r.want {
		assert.Contains(t, o.stderr, w)
	}
	// Linux records the peak of the process that execs mrun, a vfork of
	// this test, into mrun's Maxrss: so this bounds the larger of the two.
	assert.Less(t, o.maxRSS, int64(maxRSS), "peak RSS")
}

// requireAtMostTwoLines checks stderr holds one or two newline-ended lines.
func requireAtMostTwoLines(t *testing.T, stderr string) {
	t.Helper()
	require.True(t, strings.HasSuffix(stderr, "\n"), "stderr %q", stderr)
	require.LessOrEqual(t, strings.Count(stderr, "\n"), 2, "stderr %q", stderr)
}

// flagRows are hostile flags on a good model.
func flagRows(t *testing.T) []hostileRow {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	run := func(extra ...string) []string {
		return append([]string{"run", "-m", model, "-p", "Once upon a time", "-n", "4"}, extra...)
	}
	hugeStdin := func() io.Reader { return io.LimitReader(&endless{}, 17<<20) }
	return []hostileRow{
		{name: "--threads -1", args: run("--threads", "-1"), rc: 2, want: []string{"--threads -1"}},
		{name: "--threads 1000000", args: run("--threads", "1000000"), rc: 2, want: []string{"--threads 1000000"}},
		{name: "bench --threads 1000000", args: []string{"bench", "-m", model, "--threads", "1000000"}, rc: 2, want: []string{"--threads 1000000"}},
		{name: "-n -1", args: run("-n", "-1"), rc: 2, want: []string{"-n -1"}},
		{name: "--ctx -1", args: run("--ctx", "-1"), rc: 2, want: []string{"--ctx -1"}},
		{name: "--ctx beyond the model's context", args: run("--ctx", "100000000000"),
			rc: 1, want: []string{"100000000000", "trained context of 2048"}},
		{name: "--ctx beyond memory", args: []string{"run", "-m", deepModel(t), "-p", "Once", "--ctx", "16777216"},
			rc: 1, want: []string{"--ctx 16777216", "available", "try --ctx"}},
		{name: "--temp NaN", args: run("--temp", "NaN"), rc: 2, want: []string{"-temp", `"NaN" is not a number`}},
		{name: "--temp -1", args: run("--temp", "-1"), rc: 2, want: []string{"temperature -1"}},
		{name: "--top-p 2", args: run("--top-p", "2"), rc: 2, want: []string{"top-p 2"}},
		{name: "--min-p -0.5", args: run("--min-p", "-0.5"), rc: 2, want: []string{"min-p -0.5"}},
		{name: "--kv q8", args: run("--kv", "q8"), rc: 2, want: []string{`--kv "q8"`}},
		{name: "unknown flag", args: run("--frobnicate"), rc: 2, want: []string{"-frobnicate"}},
		{name: "missing -m", args: []string{"run", "-p", "Once"}, rc: 2, want: []string{"-m FILE is required"}},
		{name: "tokenize without -m", args: []string{"tokenize", "Once"}, rc: 2, want: []string{"-m FILE is required"}},
		{name: "prompt longer than the context", args: run("--ctx", "16", "-p", strings.Repeat("Once upon a time ", 20)),
			rc: 1, want: []string{"prompt of", "context of 16"}},
		{name: "-p - with 17 MiB of standard input", args: run("-p", "-"), stdin: hugeStdin,
			rc: 1, want: []string{"standard input", "16 MiB"}},
		{name: "tokenize - with 17 MiB of standard input", args: []string{"tokenize", "-m", model, "-"}, stdin: hugeStdin,
			rc: 1, want: []string{"standard input", "16 MiB"}},
		{name: "unknown backend", args: run("--backend", "tpu"), rc: 2, want: []string{`unknown backend "tpu"`}},
	}
}

// testZeroMeansTheDefault: --threads 0 (all cores) and --ctx 0 (the
// model's context) are not hostile but documented defaults, as llama.cpp's
// -c 0; a run with them generates within the same bounds.
func testZeroMeansTheDefault(t *testing.T, bin string) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	args := []string{"run", "-m", model, "-p", "Once upon a time", "-n", "4", "--temp", "0", "--threads", "0", "--ctx", "0"}
	o := runMrun(t, bin, hostileRow{name: "--threads 0 --ctx 0", args: args})
	require.Equal(t, 0, o.rc, o.stderr)
	assert.Equal(t, ", there was a\n", o.stdout)
	assert.Contains(t, o.stderr, "2048-token context")
	assert.Less(t, o.maxRSS, int64(maxRSS), "peak RSS")
}
