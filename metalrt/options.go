package metalrt

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
)

// Options configure a Runtime.
type Options struct {
	// MaxBufferLength caps each no-copy buffer over the weights below the
	// device's maximum buffer length; 0 means the device's. Tests set it to
	// make a small model span several buffers.
	MaxBufferLength int64
}

// stepLimits are what a plan's steps may ask for: positions inside the
// KV cache and token ids inside the embedding table (0: no limit).
type stepLimits struct {
	context, vocab int
}

// limitsOf reads the limits from the parameters of the plan's dispatches.
func limitsOf(p *plan.Plan) stepLimits {
	var l stepLimits
	lower := func(v *int, x int32) {
		if *v == 0 || int(x) < *v {
			*v = int(x)
		}
	}
	for _, d := range p.Dispatches() {
		switch q := d.Params.(type) {
		case plan.KVParams:
			lower(&l.context, q.Capacity)
		case plan.RopeKVParams:
			lower(&l.context, q.Capacity)
		case plan.AttnParams:
			lower(&l.context, q.Capacity)
		case plan.EmbedParams:
			lower(&l.vocab, q.Vocab)
		}
	}
	return l
}

// check refuses a step the kernels would read or write out of bounds for:
// GPU kernels do not check token ids or cache positions themselves.
func (l stepLimits) check(program string, n int, tokens []int32, pos0 int) error {
	if len(tokens) != n {
		return fmt.Errorf("metalrt: program %s takes steps of %d tokens, got %d", program, n, len(tokens))
	}
	if pos0 < 0 {
		return fmt.Errorf("metalrt: negative start position %d", pos0)
	}
	last := pos0 + n - 1
	if l.context > 0 && last >= l.context {
		return fmt.Errorf("metalrt: context full: position %d exceeds the context of %d tokens", last, l.context)
	}
	if last > math.MaxInt32-1 {
		return fmt.Errorf("metalrt: position %d is out of range", last)
	}
	if l.vocab > 0 {
		for i, t := range tokens {
			if t < 0 || int(t) >= l.vocab {
				return fmt.Errorf("metalrt: token %d of the step has id %d, outside the vocabulary of %d tokens", i, t, l.vocab)
			}
		}
	}
	return nil
}

// mslVersion is MTLLanguageVersion for an MSL version "major.minor":
// major<<16 | minor ("3.1" is 196609). darwinkit's constants stop at 2.4.
func mslVersion(v string) (uint, error) {
	major, minor, ok := strings.Cut(v, ".")
	ma, err1 := strconv.ParseUint(major, 10, 16)
	mi, err2 := strconv.ParseUint(minor, 10, 16)
	if !ok || err1 != nil || err2 != nil || ma < 1 {
		return 0, fmt.Errorf("metalrt: MSL version %q: want major.minor, e.g. 3.1", v)
	}
	return uint(ma<<16 | mi), nil
}
