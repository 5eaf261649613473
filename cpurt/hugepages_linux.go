package cpurt

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHugePages asks Linux to back b with 2 MiB pages where it can
// (transparent huge pages in "madvise" mode, the common default), before
// b is first written. A decode step streams every tile once; with 4 KiB
// pages that is a TLB miss every 4 KiB and a hardware prefetcher that
// stops at each page boundary.
func adviseHugePages(b []byte) {
	const huge = 2 << 20
	if len(b) < huge {
		return
	}
	base := uintptr(unsafe.Pointer(&b[0]))
	start := (base + huge - 1) &^ (huge - 1)
	end := (base + uintptr(len(b))) &^ (huge - 1)
	if end > start {
		_ = unix.Madvise(b[start-base:end-base], unix.MADV_HUGEPAGE)
	}
}
