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
// which every generated token runs, and, once speculative decoding has
// run, the verification programs (N up to keep): their sizes change from
// step to step with the acceptance rate, and recompiling them would cost
// more than drafting saves. They are small (a few tokens of activations
// and logits each) and add to the bound.
type programCache struct {
	entries []sizedProgram
	keep    int // the largest size never evicted (0: 1, decode)
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

// keepUpTo makes programs of up to n tokens stay cached.
func (c *programCache) keepUpTo(n int) { c.keep = max(c.keep, n) }

// put adds the program of step size n (not cached yet), evicting when full.
// An evicted program that is an io.Closer is closed, so that a runtime that
// keeps its programs (metalrt) can free their buffers; the CPU runtime's
// are garbage once dropped.
func (c *programCache) put(n int, p Program) {
	keep := max(c.keep, 1)
	if len(c.entries) >= maxPrograms+keep-1 {
		victim := slices.IndexFunc(c.entries, func(e sizedProgram) bool { return e.n > keep })
		if victim >= 0 {
			if closer, ok := c.entries[victim].prog.(io.Closer); ok {
				_ = closer.Close() // a program that fails to free is freed by its runtime's Close
			}
			c.entries = slices.Delete(c.entries, victim, victim+1)
		}
	}
	c.entries = append(c.entries, sizedProgram{n, p})
}
