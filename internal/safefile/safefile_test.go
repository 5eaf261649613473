package safefile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeString returns a fill that writes s.
func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// names lists dir's entries, to show that no temporary file is left.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	require.NoError(t, Write(path, false, writeString("hello")))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), st.Mode())
	assert.Equal(t, []string{"out.gguf"}, names(t, dir), "no temporary file is left")
}

func TestExistingFileIsReplacedOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))

	filled := false
	err := Write(path, false, func(io.Writer) error { filled = true; return nil })
	require.ErrorIs(t, err, ErrExists)
	assert.EqualError(t, err, path+" already exists")
	assert.False(t, filled, "refused before any work")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(data))

	require.NoError(t, Write(path, true, writeString("new")))
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new", string(data))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode(), "the replaced file's permissions are kept")
	assert.Equal(t, []string{"out.gguf"}, names(t, dir))
}

func TestOnlyRegularFilesAreWritten(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("target"), 0o644))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(target, link))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))

	for _, c := range []struct {
		path, kind string
		mode       fs.FileMode // the type bits the path keeps
	}{
		{link, "a symbolic link", fs.ModeSymlink},
		{fifo, "a named pipe (FIFO)", fs.ModeNamedPipe},
		{sub, "a directory", fs.ModeDir},
		{os.DevNull, "a device", fs.ModeDevice | fs.ModeCharDevice},
	} {
		for _, replace := range []bool{false, true} {
			filled := false
			err := Write(c.path, replace, func(io.Writer) error { filled = true; return nil })
			assert.EqualError(t, err, c.path+" is "+c.kind+", not a regular file: refusing to replace it")
			assert.EqualError(t, Check(c.path, replace), err.Error(), "Check agrees")
			assert.False(t, filled, "%s: refused before any work", c.path)
			st, err := os.Lstat(c.path)
			require.NoError(t, err)
			assert.Equal(t, c.mode, st.Mode().Type(), "%s keeps its type", c.path)
		}
	}
	data, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "target", string(data), "the link's target is untouched")
	assert.ElementsMatch(t, []string{"target", "link", "fifo", "sub"}, names(t, dir))
}

func TestMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such")
	err := Write(filepath.Join(missing, "out.gguf"), true, writeString("x"))
	assert.EqualError(t, err, "cannot write "+filepath.Join(missing, "out.gguf")+": directory "+missing+" does not exist")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err = Check(filepath.Join(file, "out.gguf"), true)
	assert.EqualError(t, err, "cannot write "+filepath.Join(file, "out.gguf")+": "+file+" is not a directory")
	assert.Equal(t, []string{"file"}, names(t, dir))
}

func TestFailedFillLeavesTheDestination(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	boom := errors.New("boom")
	err := Write(path, true, func(w io.Writer) error {
		_, err := io.WriteString(w, "partial")
		require.NoError(t, err)
		require.Len(t, names(t, dir), 2, "the content goes to a temporary file beside the destination")
		return boom
	})
	require.ErrorIs(t, err, boom)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old", string(data))
	assert.Equal(t, []string{"out.gguf"}, names(t, dir), "the temporary file is removed")
}

// A file that appears at the destination while fill runs is not replaced
// without replace: the destination is checked again before the rename.
func TestDestinationCreatedDuringFill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	err := Write(path, false, func(w io.Writer) error {
		return os.WriteFile(path, []byte("theirs"), 0o644)
	})
	require.ErrorIs(t, err, ErrExists)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "theirs", string(data))
	assert.Equal(t, []string{"out.gguf"}, names(t, dir))
}

func TestErrorsNameTheDestination(t *testing.T) {
	tmpErr := &fs.PathError{Op: "write", Path: "/d/out.gguf.123.tmp", Err: syscall.ENOSPC}
	err := destinationError("write", "/d/out.gguf", tmpErr)
	assert.EqualError(t, err, "write /d/out.gguf: no space left on device")
	assert.ErrorIs(t, err, syscall.ENOSPC)
	linkErr := &os.LinkError{Op: "rename", Old: "/d/out.gguf.123.tmp", New: "/d/out.gguf", Err: syscall.EROFS}
	assert.EqualError(t, destinationError("rename", "/d/out.gguf", linkErr), "rename /d/out.gguf: read-only file system")
}
