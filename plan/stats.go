package plan

import (
	"fmt"
	"strings"
)

// Stats summarises a plan: its shape and the bytes one step moves.
type Stats struct {
	Dispatches     int
	Barriers       int
	CommandBuffers int
	ArenaBytes     int64
	KVBytes        int64
	// WeightBytesRead is the weight bytes one step reads: a matvec-family
	// contract reads its weights once per token (N times a step), the
	// mtmatvec and matmul families once a step, embed the N table rows of
	// the step's tokens, and every other contract (rmsnorm's scale) its
	// weight once a step.
	WeightBytesRead int64
	// ActivationBytes is the bytes of step, tokens, arena and logits
	// bindings, each read or written once. KV cache traffic is left out: it
	// depends on the cache length, not on the plan.
	ActivationBytes int64
}

// Stats computes the plan's statistics.
func (p *Plan) Stats() Stats {
	s := Stats{
		CommandBuffers: len(p.Commands),
		ArenaBytes:     p.Buffers[Arena].Size,
		KVBytes:        p.Buffers[KV].Size,
	}
	for _, d := range p.Dispatches() {
		s.Dispatches++
		if d.Barrier {
			s.Barriers++
		}
		for _, b := range d.Bindings {
			switch b.Buffer {
			case Weights:
				s.WeightBytesRead += weightReads(p.N, d, b)
			case Step, Tokens, Arena, Logits:
				s.ActivationBytes += b.Length
			}
		}
	}
	return s
}

// weightReads is the bytes a dispatch reads of a weight binding per step.
func weightReads(n int, d *Dispatch, b Binding) int64 {
	c, err := Lookup(d.Kernel)
	if err != nil {
		return b.Length // unknown contract: Verify reports it
	}
	family, _, _ := strings.Cut(c.Family, "@")
	switch family {
	case "matvec":
		return int64(n) * b.Length
	case "embed":
		if e, ok := d.Params.(EmbedParams); ok && e.Vocab > 0 {
			return int64(e.N) * (b.Length / int64(e.Vocab))
		}
	}
	return b.Length
}

func (s Stats) String() string {
	var b strings.Builder
	row := func(name string, v int64) { fmt.Fprintf(&b, "%-24s %16d\n", name, v) }
	row("dispatches", int64(s.Dispatches))
	row("barriers", int64(s.Barriers))
	row("command buffers", int64(s.CommandBuffers))
	row("arena bytes", s.ArenaBytes)
	row("kv bytes", s.KVBytes)
	row("weight bytes/step", s.WeightBytesRead)
	row("activation bytes/step", s.ActivationBytes)
	return b.String()
}
