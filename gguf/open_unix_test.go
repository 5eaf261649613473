//go:build unix

package gguf

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOpenRefusesSpecialFilesAtOnce: a named pipe would block Open until
// a writer came, so it is refused before it is opened; a device likewise.
func TestOpenRefusesSpecialFilesAtOnce(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "model.gguf")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for path, want := range map[string]string{
		fifo:        "gguf: " + fifo + " is a named pipe, not a regular file",
		"/dev/null": "gguf: /dev/null is a device, not a regular file",
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Open(path)
			done <- err
		}()
		select {
		case err := <-done:
			require.EqualError(t, err, want)
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) still blocks after 10 s", path)
		}
	}
}
