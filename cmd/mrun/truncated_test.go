//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// truncateOnWrite is standard output that truncates a file when the first
// text arrives, as someone rewriting the model during a run would.
type truncateOnWrite struct {
	t    *testing.T
	path string
	text bytes.Buffer
}

func (w *truncateOnWrite) Write(p []byte) (int, error) {
	if w.text.Len() == 0 {
		require.NoError(w.t, os.Truncate(w.path, 4096))
	}
	return w.text.Write(p)
}

// TestModelTruncatedDuringRun: the next step reads weights past the file's
// new end (SIGBUS), and mrun says so in one line with exit status 1.
func TestModelTruncatedDuringRun(t *testing.T) {
	src, err := os.ReadFile(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "model.gguf")
	require.NoError(t, os.WriteFile(path, src, 0o600))

	out := &truncateOnWrite{t: t, path: path}
	var errOut bytes.Buffer
	rc := runWith(strings.NewReader(""), []string{"run", "-m", path, "-p", "Once upon a time", "-n", "8", "--temp", "0"}, out, &errOut)
	assert.Equal(t, 1, rc)
	assert.NotEmpty(t, out.text.String(), "the first token was printed before the file shrank")
	last := errOut.String()[strings.LastIndex(strings.TrimSuffix(errOut.String(), "\n"), "\n")+1:]
	requireOneLine(t, last)
	assert.Equal(t, "mrun: run: cpurt: reading the weights failed (the model file was truncated or changed while in use)\n", last)
	assert.NotContains(t, errOut.String(), "goroutine")
}
