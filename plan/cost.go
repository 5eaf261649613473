package plan

import "fmt"

// Cost is what one step of a plan moves through memory when the KV cache
// holds Context positions after it, and how its dispatches are submitted.
// Byte counts are per step; PerToken divides them by N.
type Cost struct {
	N       int
	Context int
	// WeightBytes and ActivationBytes are Stats' WeightBytesRead and
	// ActivationBytes.
	WeightBytes     int64
	ActivationBytes int64
	// KVReadBytes is the cache rows attention reads, each once a step: the
	// rows the step's queries see (all Context positions, or the sliding
	// window's). KVWriteBytes is the N rows of K and V the step stores.
	KVReadBytes  int64
	KVWriteBytes int64
	Commands     []CommandCost
}

// CommandCost is one command buffer's dispatches and barriers.
type CommandCost struct{ Dispatches, Barriers int }

// Total is every byte a step moves.
func (c Cost) Total() int64 {
	return c.WeightBytes + c.KVReadBytes + c.KVWriteBytes + c.ActivationBytes
}

// PerToken is bytes of a step shared out over its N tokens.
func (c Cost) PerToken(bytes int64) int64 { return bytes / int64(c.N) }

// Cost computes the cost of the step whose last token sits at position
// context − 1, so that its N queries see up to context cache rows.
func (p *Plan) Cost(context int) (Cost, error) {
	if context < p.N {
		return Cost{}, fmt.Errorf("context %d is shorter than the step's %d tokens", context, p.N)
	}
	st := p.Stats()
	c := Cost{N: p.N, Context: context, WeightBytes: st.WeightBytesRead, ActivationBytes: st.ActivationBytes}
	for _, cb := range p.Commands {
		var cc CommandCost
		for _, d := range cb.Dispatches {
			cc.Dispatches++
			if d.Barrier {
				cc.Barriers++
			}
			capacity, window, ok := kvGeometry(d.Params)
			if !ok {
				continue
			}
			if context > capacity {
				return Cost{}, fmt.Errorf("context %d exceeds the %d positions of the cache %s binds", context, capacity, d.Node)
			}
			for _, b := range d.Bindings {
				if b.Buffer != KV {
					continue
				}
				row := b.Length / int64(capacity)
				if b.Write {
					c.KVWriteBytes += row * int64(p.N)
				} else {
					c.KVReadBytes += row * int64(visibleRows(context, p.N, window))
				}
			}
		}
		c.Commands = append(c.Commands, cc)
	}
	return c, nil
}

// kvGeometry is the cache capacity and sliding window (0: none) of a
// dispatch that binds the KV cache.
func kvGeometry(params Params) (capacity, window int, ok bool) {
	switch q := params.(type) {
	case AttnParams:
		return int(q.Capacity), int(q.Window), true
	case KVParams:
		return int(q.Capacity), 0, true
	case RopeKVParams:
		return int(q.Capacity), 0, true
	}
	return 0, 0, false
}

// visibleRows counts the cache rows some query of a step of n tokens
// ending at position context − 1 sees: from the first query's window
// start to the last query.
func visibleRows(context, n, window int) int {
	lo := 0
	if window > 0 {
		lo = max(0, context-n-window+1)
	}
	return context - lo
}
