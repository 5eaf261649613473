//go:build !linux && !darwin

package gguf

import (
	"io"
	"os"
)

// mapFile reads the file into memory where mmap is not wired up; the
// package targets linux and darwin, this keeps it building elsewhere.
func mapFile(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(fd, b); err != nil {
		return nil, nil, err
	}
	return b, func([]byte) error { return nil }, nil
}

// dropPages does nothing where the file is read into memory: its bytes
// are the only copy.
func dropPages([]byte) {}
