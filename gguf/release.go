package gguf

import (
	"os"
	"unsafe"
)

// Release tells the file that its caller no longer reads b, a range of
// Bytes(): where the file is mapped, the whole pages inside b leave the
// process's resident memory (they stay in the page cache, and reading
// them again brings them back). A runtime that keeps weights in a layout
// of its own releases the originals, so they are not held twice.
func (f *File) Release(b []byte) {
	if len(b) == 0 || len(f.data) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - base
	if off >= uintptr(len(f.data)) || off+uintptr(len(b)) > uintptr(len(f.data)) {
		return // not the file's bytes
	}
	page := uintptr(os.Getpagesize())
	start, end := (off+page-1)/page*page, (off+uintptr(len(b)))/page*page
	if end <= start {
		return
	}
	dropPages(f.data[start:end])
	f.relMu.Lock()
	defer f.relMu.Unlock()
	if f.released == nil {
		f.released = make([]uint64, len(f.data)/releaseUnit/64+1)
	}
	// Whole units only: a unit partly released is still read in.
	for u := (int(start) + releaseUnit - 1) / releaseUnit; (u+1)*releaseUnit <= int(end); u++ {
		f.released[u/64] |= 1 << (u % 64)
	}
}

// releaseUnit is the granularity at which the file remembers released
// bytes for Prefault: the smallest page size.
const releaseUnit = 4096

// isReleased reports whether the byte at off lies in a released unit.
func (f *File) isReleased(off int64) bool {
	f.relMu.Lock()
	defer f.relMu.Unlock()
	u := off / releaseUnit
	return f.released != nil && f.released[u/64]&(1<<(u%64)) != 0
}
