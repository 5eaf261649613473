// CI runs the arm64 tests under qemu-user, which accepts madvise advice
// and drops it, so this check runs on amd64 hosts.

//go:build linux && amd64

package cpurt

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestAdviseHugePagesMarksTheTiles: the whole 2 MiB pages inside a tile
// buffer end up in a mapping the kernel knows to back with huge pages
// ("hg" in its VmFlags), whatever the machine's THP mode allows.
func TestAdviseHugePagesMarksTheTiles(t *testing.T) {
	const huge = 2 << 20
	b := alignedBytes(5 * huge)
	adviseHugePages(b)
	base := uintptr(unsafe.Pointer(&b[0]))
	inside := (base + huge - 1) &^ (huge - 1)
	flags := vmFlagsAt(t, inside)
	require.Contains(t, strings.Fields(flags), "hg", "VmFlags of the mapping at %#x: %s", inside, flags)
	b[inside-base] = 1 // still ordinary memory
}

// vmFlagsAt returns the VmFlags line of the mapping holding addr in
// /proc/self/smaps.
func vmFlagsAt(t *testing.T, addr uintptr) string {
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header ("lo-hi perms offset dev inode path") starts
		// with its range; its fields ("Name: value") follow it.
		if first, _, _ := strings.Cut(line, " "); !strings.HasSuffix(first, ":") {
			var lo, hi uintptr
			if _, err := fmt.Sscanf(first, "%x-%x", &lo, &hi); err == nil {
				in = lo <= addr && addr < hi
			}
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimPrefix(line, "VmFlags:")
		}
	}
	require.NoError(t, sc.Err())
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}
