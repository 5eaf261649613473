//go:build linux || darwin

package gguf

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of fd read-only and shared, so pages come from
// the page cache and the Metal runtime can wrap them without copying.
func mapFile(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	b, err := syscall.Mmap(int(fd.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, syscall.Munmap, nil
}

// dropPages lets the kernel take back the mapped pages of b (whole pages
// only): they stay in the page cache and fault back in if read again.
func dropPages(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
