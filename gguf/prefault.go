package gguf

import (
	"fmt"
	"runtime"

	"github.com/metalgraph/metalgraph/internal/fault"
)

// prefaultChunk is how many bytes Prefault touches between progress
// reports: small enough for a smooth progress line, large enough that the
// callback costs nothing.
const prefaultChunk = 64 << 20

// Prefault reads one byte of every page of the mapping, so the operating
// system loads the whole file now rather than on the first token's page
// faults. For a multi-gigabyte model that moves seconds of disk reading
// out of the time to first token and lets a caller show progress. Nothing
// is copied: the pages are the page cache's. progress (optional) gets the
// bytes done and the total. A file that shrank since Open is an error, not
// a crash (see package fault). Pages given up with Release are skipped:
// their bytes live elsewhere now.
func (f *File) Prefault(progress func(done, total int64)) error {
	const page = 4096 // the smallest page size; larger pages are touched more than once, harmlessly
	total := int64(len(f.data))
	var sink byte
	faulted := fault.Catch(func() {
		for start := int64(0); start < total; start += prefaultChunk {
			end := min(start+prefaultChunk, total)
			for i := start; i < end; i += page {
				if !f.isReleased(i) {
					sink ^= f.data[i]
				}
			}
			if progress != nil {
				progress(end, total)
			}
		}
	})
	runtime.KeepAlive(sink) // the reads must happen; their result is not needed
	if faulted {
		return fmt.Errorf("gguf: reading %s failed (the file was truncated or changed while in use)", f.path)
	}
	return nil
}
