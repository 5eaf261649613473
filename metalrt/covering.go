package metalrt

import (
	"errors"
	"fmt"
	"sort"

	"github.com/metalgraph/metalgraph/plan"
)

// Extent is one tensor's bytes in the weights file.
type Extent struct {
	Name   string
	Offset int64
	Length int64
}

// End is the first byte past the extent.
func (e Extent) End() int64 { return e.Offset + e.Length }

// Window is one no-copy buffer over the mapped file: Length bytes from
// Offset. Offset is page-aligned (Metal needs a page-aligned pointer) and
// Length a whole number of pages, so the last window may reach past the
// end of the file into the rest of its last mapped page.
type Window struct {
	Offset int64
	Length int64
}

// End is the first byte past the window.
func (w Window) End() int64 { return w.Offset + w.Length }

// Covering is the set of windows over one file, sorted by offset; their
// ends increase too, and consecutive windows touch or overlap, so their
// union is the whole file.
type Covering []Window

// Cover chooses page-aligned windows of at most maxLen bytes (the device's
// maximum buffer length) over a file of fileSize bytes so that every
// tensor lies wholly inside one window. A file that fits is one window.
// Otherwise each window is as long as allowed and the next one starts at
// the page of the first tensor that did not fit, so windows overlap by
// less than one tensor; where no tensor straddles, they just touch.
func Cover(fileSize, pageSize, maxLen int64, tensors []Extent) (Covering, error) {
	switch {
	case fileSize <= 0:
		return nil, fmt.Errorf("metal covering: file size %d: must be positive", fileSize)
	case pageSize <= 0 || pageSize&(pageSize-1) != 0:
		return nil, fmt.Errorf("metal covering: page size %d: must be a positive power of two", pageSize)
	case maxLen < pageSize:
		return nil, fmt.Errorf("metal covering: maximum buffer length %d is less than one page (%d bytes)", maxLen, pageSize)
	}
	limit := maxLen / pageSize * pageSize // the longest whole-page window
	fileEnd := pageUp(fileSize, pageSize)
	ts := make([]Extent, len(tensors))
	copy(ts, tensors)
	for _, t := range ts {
		if t.Offset < 0 || t.Length < 0 || t.End() > fileSize || t.End() < t.Offset {
			return nil, fmt.Errorf("metal covering: tensor %s (%d bytes at offset %d) is not inside the %d-byte file", t.Name, t.Length, t.Offset, fileSize)
		}
		// A window starts on a page, so a tensor needs room from its page start.
		if need := t.End() - pageDown(t.Offset, pageSize); need > limit {
			return nil, fmt.Errorf("metal covering: tensor %s is %d bytes (%d from the start of its page), more than the device's maximum buffer length of %d bytes",
				t.Name, t.Length, need, maxLen)
		}
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Offset != ts[j].Offset {
			return ts[i].Offset < ts[j].Offset
		}
		return ts[i].End() < ts[j].End()
	})
	var c Covering
	start, i := int64(0), 0
	for {
		end := min(start+limit, fileEnd)
		for i < len(ts) && ts[i].End() <= end {
			i++
		}
		c = append(c, Window{Offset: start, Length: end - start})
		if end == fileEnd {
			return c, nil
		}
		next := end // no tensor left: cover the rest
		if i < len(ts) {
			// Start at the first tensor that did not fit; not past end, so
			// no gap. It is past start: the tensor fits a window from its
			// own page (checked above) but not this one.
			next = min(pageDown(ts[i].Offset, pageSize), end)
		}
		start = next
	}
}

// Locate finds the window holding the n bytes at file offset off and the
// offset of those bytes inside it. Where windows overlap it picks the last
// one that starts at or before off, which holds the range if any does.
func (c Covering) Locate(off, n int64) (buffer int, offsetInBuffer int64, err error) {
	if off < 0 || n < 0 {
		return 0, 0, fmt.Errorf("metal covering: bad range of %d bytes at offset %d", n, off)
	}
	if len(c) == 0 {
		return 0, 0, errors.New("metal covering: no windows")
	}
	i := sort.Search(len(c), func(i int) bool { return c[i].Offset > off }) - 1
	if i < 0 || off+n > c[i].End() {
		return 0, 0, fmt.Errorf("metal covering: %d bytes at file offset %d lie in no single buffer", n, off)
	}
	return i, off - c[i].Offset, nil
}

// Extents lists the distinct weight ranges a plan binds, named by the
// weight they hold, in first-use order: the tensors a covering of the
// weights file must keep whole. Plans for every step size of one model
// bind the same tensors, so they share one covering.
func Extents(p *plan.Plan) []Extent {
	type key struct{ off, n int64 }
	seen := map[key]bool{}
	var out []Extent
	for _, d := range p.Dispatches() {
		for _, b := range d.Bindings {
			k := key{b.Offset, b.Length}
			if b.Buffer != plan.Weights || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, Extent{Name: b.Value, Offset: b.Offset, Length: b.Length})
		}
	}
	return out
}

func pageUp(x, a int64) int64   { return (x + a - 1) / a * a }
func pageDown(x, a int64) int64 { return x / a * a }
