package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Released bytes read back unchanged: dropping mapped pages only gives
// memory back, and foreign or partial-page ranges are left alone.
func TestReleasedBytesReadBack(t *testing.T) {
	page := os.Getpagesize()
	content := make([]byte, 6*page+123)
	for i := range content {
		content[i] = byte(i*7 + i/page)
	}
	path := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.WriteFile(path, content, 0o644))
	fd, err := os.Open(path)
	require.NoError(t, err)
	defer fd.Close()
	data, unmap, err := mapFile(fd, len(content))
	require.NoError(t, err)
	defer unmap(data)
	f := &File{data: data}

	f.Release(data[page/2 : 4*page+17]) // pages 1-3 whole, parts of 0 and 4
	f.Release(data[10:20])              // inside one page: nothing to drop
	f.Release(make([]byte, 2*page))     // not the file's bytes
	f.Release(nil)
	require.True(t, bytes.Equal(content, data), "the mapping must read back the file")
	if page == releaseUnit {
		// Prefault skips the whole pages released, and only those.
		for p, want := range []bool{false, true, true, true, false, false, false} {
			require.Equal(t, want, f.isReleased(int64(p*page)), "page %d", p)
		}
	}
	require.NoError(t, f.Prefault(nil))
}
