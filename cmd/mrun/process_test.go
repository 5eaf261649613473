package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asMainEnv makes the test binary run as mrun: the tests below need a
// process of their own to send signals to.
const asMainEnv = "MRUN_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// process is mrun running in a process of its own.
type process struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr *lockedBuffer
}

// startMrun starts mrun with args and the extra environment variables env.
func startMrun(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1"), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &process{cmd: cmd, stdout: bufio.NewReader(stdout), stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// readLine returns the next line mrun prints on standard output.
func (p *process) readLine(t *testing.T) string {
	t.Helper()
	line, err := p.stdout.ReadString('\n')
	require.NoError(t, err, "stderr: %s", p.stderr)
	return line
}

// wait lets mrun finish (reading the rest of its output) and returns its
// exit status; it fails the test if that takes more than limit.
func (p *process) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		io.Copy(io.Discard, p.stdout)
		done <- p.cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("mrun still runs %s after the signal; stderr: %s", limit, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// lockedBuffer collects a process's standard error while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSynthInterrupted interrupts a Mistral-7B synthesis (minutes of work)
// once its temporary file holds data: mrun stops within seconds with one
// line, and leaves no file.
func TestSynthInterrupted(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m7b.gguf")
	p := startMrun(t, nil, "synth", "--shape", "mistral-7b", "--type", "q4_0", "-o", out)
	deadline := time.Now().Add(30 * time.Second)
	for !tempHasData(t, dir) {
		require.True(t, time.Now().Before(deadline), "no temporary file with data appeared; stderr: %s", p.stderr)
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	rc := p.wait(t, 5*time.Second)
	assert.Equal(t, 1, rc)
	stderr := p.stderr.String()
	last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
	assert.Equal(t, "mrun: synth: interrupt signal received: nothing written to "+out+"\n", last)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the temporary file is removed")
}

// tempHasData says a temporary file in dir holds data.
func tempHasData(t *testing.T, dir string) bool {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	require.NoError(t, err)
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.Size() > 0 {
			return true
		}
	}
	return false
}

// TestDemoLeavesNoModel: demo's temporary model is gone as soon as it is
// mapped, before any output, so stopping demo with SIGTERM while it
// generates leaves nothing either.
func TestDemoLeavesNoModel(t *testing.T) {
	tmp := t.TempDir()
	p := startMrun(t, []string{"TMPDIR=" + tmp}, "demo", "-n", "400", "--threads", "1")
	first := p.readLine(t)
	require.True(t, strings.HasPrefix(first, "1. synthesised a tiny Mistral-shaped model"), first)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "the model is removed once mapped")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	p.wait(t, 5*time.Second)
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
