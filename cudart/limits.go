package cudart

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/plan"
)

// stepLimits are what a plan's steps may ask for: positions inside the KV
// cache and token ids inside the embedding table (0: no limit). GPU
// kernels do not check them, so the host does before each step.
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

// check refuses a step the kernels would read or write out of bounds for.
func (l stepLimits) check(program string, n int, tokens []int32, pos0 int) error {
	if len(tokens) != n {
		return fmt.Errorf("cudart: program %s takes steps of %d tokens, got %d", program, n, len(tokens))
	}
	if pos0 < 0 {
		return fmt.Errorf("cudart: negative start position %d", pos0)
	}
	last := pos0 + n - 1
	if l.context > 0 && last >= l.context {
		return fmt.Errorf("cudart: context full: position %d exceeds the context of %d tokens", last, l.context)
	}
	if last > math.MaxInt32-1 {
		return fmt.Errorf("cudart: position %d is out of range", last)
	}
	if l.vocab > 0 {
		for i, t := range tokens {
			if t < 0 || int(t) >= l.vocab {
				return fmt.Errorf("cudart: token %d of the step has id %d, outside the vocabulary of %d tokens", i, t, l.vocab)
			}
		}
	}
	return nil
}
