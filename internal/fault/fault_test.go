//go:build unix

package fault

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCatchReadingPastATruncatedMapping maps a file, shrinks it and reads
// the page past its new end: SIGBUS, which Catch turns into a report.
func TestCatchReadingPastATruncatedMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mapped")
	page := os.Getpagesize()
	require.NoError(t, os.WriteFile(path, make([]byte, 4*page), 0o600))
	fd, err := os.Open(path)
	require.NoError(t, err)
	defer fd.Close()
	data, err := syscall.Mmap(int(fd.Fd()), 0, 4*page, syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	defer syscall.Munmap(data)
	require.NoError(t, os.Truncate(path, int64(page)))

	var sum byte
	require.False(t, Catch(func() { sum += data[page-1] }), "the page still in the file reads fine")
	require.True(t, Catch(func() { sum += data[3*page] }), "the page past the end faults")
}

func TestCatchLetsOtherPanicsThrough(t *testing.T) {
	boom := errors.New("boom")
	defer func() { require.Equal(t, boom, recover()) }()
	Catch(func() { panic(boom) })
	t.Fatal("the panic was swallowed")
}

func TestIsOnlyFaults(t *testing.T) {
	require.False(t, Is(errors.New("not a fault")))
	require.False(t, Is(nil))
	var p *int
	func() {
		defer func() {
			r := recover()
			require.NotNil(t, r)
			require.False(t, Is(r), "a nil dereference is a bug, not a fault")
		}()
		Catch(func() { _ = *p })
	}()
}
