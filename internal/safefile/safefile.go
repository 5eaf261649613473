package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrExists is wrapped by the error for an existing destination that may
// not be replaced, so that callers can say how to replace it.
var ErrExists = errors.New("already exists")

// newFileMode is the mode of a file that replaces nothing.
const newFileMode fs.FileMode = 0o644

// Check reports whether path may be written: nil when it does not exist
// and its directory does, or when it is a regular file and replace is set.
func Check(path string, replace bool) error {
	_, err := check(path, replace)
	return err
}

// check is Check that also returns the permissions the new file gets.
func check(path string, replace bool) (fs.FileMode, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return newFileMode, checkDir(path)
	case err != nil:
		return 0, err
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("%s is %s, not a regular file: refusing to replace it", path, kind(st.Mode()))
	case !replace:
		return 0, fmt.Errorf("%s %w", path, ErrExists)
	}
	return st.Mode().Perm(), nil
}

// checkDir says why path's directory cannot hold it, if it cannot.
func checkDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
	}
	return nil
}

// kind names a file type that is not a regular file.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// Write checks path (see Check), then writes what fill writes to a
// temporary file beside it and renames that over path once fill and the
// writes have succeeded. On any error path is left as it was and the
// temporary file is removed.
func Write(path string, replace bool, fill func(w io.Writer) error) (err error) {
	mode, err := check(path, replace)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return destinationError("create", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(&writer{f: tmp, path: path}); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return destinationError("sync", path, err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return destinationError("chmod", path, err)
	}
	if err = tmp.Close(); err != nil {
		return destinationError("close", path, err)
	}
	// fill may have run for minutes: what is at path now decides.
	if _, err = check(path, replace); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return destinationError("rename", path, err)
	}
	return nil
}

// writer is the temporary file as fill sees it: its errors name the
// destination.
type writer struct {
	f    *os.File
	path string
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = destinationError("write", w.path, err)
	}
	return n, err
}

// destinationError restates an error about the temporary file as one about
// path, the name the user gave.
func destinationError(op, path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}
