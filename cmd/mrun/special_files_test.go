//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModelMustBeARegularFile: every command that opens a model refuses a
// named pipe (which would block it for ever), a directory and a device,
// at once and in one line.
func TestModelMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.gguf")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for path, want := range map[string]string{
		fifo:        fifo + " is a named pipe, not a regular file",
		dir:         dir + " is a directory, not a regular file",
		"/dev/null": "/dev/null is a device, not a regular file",
	} {
		for _, args := range [][]string{
			{"run", "-m", path, "-p", "hi"},
			{"bench", "-m", path},
			{"tokenize", "-m", path, "hi"},
			{"inspect", path},
			{"graph", "-m", path},
		} {
			type result struct {
				rc          int
				out, errOut string
			}
			done := make(chan result, 1)
			go func() {
				var r result
				r.rc, r.out, r.errOut = mrun(t, "", args...)
				done <- r
			}()
			select {
			case r := <-done:
				assert.Equal(t, 1, r.rc, "%v", args)
				assert.Empty(t, r.out, "%v", args)
				requireOneLine(t, r.errOut)
				assert.Equal(t, "mrun: "+args[0]+": "+want+"\n", r.errOut)
			case <-time.After(10 * time.Second):
				t.Fatalf("mrun %s still blocks after 10 s", strings.Join(args, " "))
			}
		}
	}
}
