package engine

import (
	"io"
	"slices"
)

// maxPrograms bounds the step sizes a session keeps compiled. Each program
// owns its activation arena and an N × vocabulary logits buffer (8 MiB at
// N = 64 for a 32000-token vocabulary), and prefill compiles one more size
// for every new prompt remainder, so without a bound a long conversation
// would keep up to PrefillChunk programs alive. A turn needs three sizes
// (decode, the prefill chunk, the remainder); the fourth spares recompiling
// the previous turn's remainder.
const maxPrograms = 4

// programCache holds compiled programs by step size, least recently used
// first. It evicts that one when full, except the decode program (N = 1),
// which every generated token runs.
type programCache struct {
	entries []sizedProgram
}

type sizedProgram struct {
	n    int
	prog Program
}

// get returns the program of step size n and marks it most recently used.
func (c *programCache) get(n int) (Program, bool) {
	for i, e := range c.entries {
		if e.n == n {
			c.entries = append(slices.Delete(c.entries, i, i+1), e)
			return e.prog, true
		}
	}
	return nil, false
}

// put adds the program of step size n (not cached yet), evicting when full.
// An evicted program that is an io.Closer is closed, so that a runtime that
// keeps its programs (metalrt) can free their buffers; the CPU runtime's
// are garbage once dropped.
func (c *programCache) put(n int, p Program) {
	if len(c.entries) == maxPrograms {
		victim := 0
		if c.entries[0].n == 1 {
			victim = 1
		}
		if closer, ok := c.entries[victim].prog.(io.Closer); ok {
			_ = closer.Close() // a program that fails to free is freed by its runtime's Close
		}
		c.entries = slices.Delete(c.entries, victim, victim+1)
	}
	c.entries = append(c.entries, sizedProgram{n, p})
}
