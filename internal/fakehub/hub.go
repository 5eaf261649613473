// Package fakehub is a test server that behaves like huggingface.co for
// LFS files (resolve redirects with X-Linked-Etag, ranged CDN downloads),
// with faults on demand: dropped connections, a wrong checksum, ranges
// ignored.
package fakehub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Hub behaves like huggingface.co for LFS files: the resolve URL answers
// 302 to a CDN with the object's sha256 (X-Linked-Etag) and size; the CDN
// serves ranges. It can drop a connection, lie about the checksum or
// ignore ranges.
type Hub struct {
	Files map[string][]byte // "OWNER/REPO/FILE" → content
	// Drops is how many CDN answers are cut after DropAfter bytes.
	DropAfter int
	Drops     int
	WrongSHA  bool
	NoRanges  bool

	mu     sync.Mutex
	ranges []string // the Range header of each CDN request
}

func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		h.cdn(w, r, name)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" || parts[3] != "main" {
		http.NotFound(w, r)
		return
	}
	name := parts[0] + "/" + parts[1] + "/" + parts[4]
	data, ok := h.Files[name]
	if !ok {
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(data)
	if h.WrongSHA {
		sum[0] ^= 1
	}
	w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
	w.Header().Set("Etag", `W/"a1b2c3"`) // the git blob's, not a sha256
	http.Redirect(w, r, "/cdn/"+name+"?signature=secret", http.StatusFound)
}

func (h *Hub) cdn(w http.ResponseWriter, r *http.Request, name string) {
	h.mu.Lock()
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	drop := h.Drops > 0
	if drop {
		h.Drops--
	}
	h.mu.Unlock()
	if h.NoRanges {
		r.Header.Del("Range")
	}
	data := h.Files[name]
	if !drop {
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data[:h.DropAfter])
	panic(http.ErrAbortHandler) // the connection drops mid-body
}

// Ranges returns the Range header of each CDN request so far.
func (h *Hub) Ranges() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ranges)
}

// ResetRanges forgets the requests so far.
func (h *Hub) ResetRanges() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ranges = nil
}
