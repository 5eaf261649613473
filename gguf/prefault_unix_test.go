//go:build unix

package gguf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// TestPrefaultOfATruncatedFileIsAnError: the pages past the file's new end
// raise SIGBUS when touched, which Prefault reports instead of crashing.
func TestPrefaultOfATruncatedFileIsAnError(t *testing.T) {
	src, err := os.ReadFile(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "model.gguf")
	require.NoError(t, os.WriteFile(path, src, 0o600))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Prefault(nil))

	require.NoError(t, os.Truncate(path, 4096))
	require.EqualError(t, f.Prefault(nil), "gguf: reading "+path+" failed (the file was truncated or changed while in use)")
}
