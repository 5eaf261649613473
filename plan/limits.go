package plan

import (
	"fmt"
	"math"
	"slices"
)

// StepLimits are what a plan's steps may ask for: positions inside the KV
// cache and token ids inside the embedding table (0: no limit). GPU
// kernels do not check token ids or cache positions themselves, so a
// runtime's host side checks each step against these.
type StepLimits struct {
	Context, Vocab int
}

// LimitsOf reads the limits from the parameters of the plan's dispatches.
func LimitsOf(p *Plan) StepLimits {
	var l StepLimits
	lower := func(v *int, x int32) {
		if *v == 0 || int(x) < *v {
			*v = int(x)
		}
	}
	for _, d := range p.Dispatches() {
		switch q := d.Params.(type) {
		case KVParams:
			lower(&l.Context, q.Capacity)
		case RopeKVParams:
			lower(&l.Context, q.Capacity)
		case AttnParams:
			lower(&l.Context, q.Capacity)
		case EmbedParams:
			lower(&l.Vocab, q.Vocab)
		}
	}
	return l
}

// Check refuses a step of program (n tokens per step) that the kernels
// would read or write out of bounds for.
func (l StepLimits) Check(program string, n int, tokens []int32, pos0 int) error {
	if len(tokens) != n {
		return fmt.Errorf("program %s takes steps of %d tokens, got %d", program, n, len(tokens))
	}
	if pos0 < 0 {
		return fmt.Errorf("negative start position %d", pos0)
	}
	last := pos0 + n - 1
	if l.Context > 0 && last >= l.Context {
		return fmt.Errorf("context full: position %d exceeds the context of %d tokens", last, l.Context)
	}
	if last > math.MaxInt32-1 {
		return fmt.Errorf("position %d is out of range", last)
	}
	if l.Vocab > 0 {
		for i, t := range tokens {
			if t < 0 || int(t) >= l.Vocab {
				return fmt.Errorf("token %d of the step has id %d, outside the vocabulary of %d tokens", i, t, l.Vocab)
			}
		}
	}
	return nil
}

// SameKV checks that plan p lays out the KV cache as a runtime's first
// plan did (size bytes, layout): the programs of one runtime share its
// cache, so a plan of another shape must not run on it.
func SameKV(p *Plan, size int64, layout []KVLayout) error {
	if got := p.Buffers[KV].Size; got != size {
		return fmt.Errorf("plan %s has a %d-byte KV cache, but this runtime's cache (from its first plan) has %d bytes", p.Name, got, size)
	}
	if !slices.Equal(layout, p.KV) {
		return fmt.Errorf("plan %s lays out the KV cache differently from this runtime's first plan", p.Name)
	}
	return nil
}
