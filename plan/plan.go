package plan

import (
	"fmt"
)

// BufferKind says what a buffer holds. Every plan has exactly one buffer of
// each kind, at the index equal to its kind, so runtimes can bind them by
// constant.
type BufferKind uint8

const (
	// Step holds the per-step parameters (StepParams) that kernels read, so a
	// compiled plan replays unchanged from step to step.
	Step BufferKind = iota
	// Tokens holds the step's N token ids (int32).
	Tokens
	// Weights is the model file itself; bindings use file offsets.
	Weights
	// KV holds every layer's K and V cache; its layout depends only on the
	// model and the context, so plans for every N share one KV buffer.
	KV
	// Arena holds the step's intermediate values, placed by plan_memory.
	Arena
	// Logits receives the output, N rows of vocabulary size (float32).
	Logits
	numBufferKinds
)

func (k BufferKind) String() string {
	switch k {
	case Step:
		return "step"
	case Tokens:
		return "tokens"
	case Weights:
		return "weights"
	case KV:
		return "kv"
	case Arena:
		return "arena"
	case Logits:
		return "logits"
	}
	return fmt.Sprintf("buffer(%d)", uint8(k))
}

// Buffer is one memory region of the plan.
type Buffer struct {
	Kind BufferKind
	Size int64
}

// Binding is one argument of a dispatch: a byte range of a buffer. Value
// names the graph value or weight it holds, for dumps and errors.
type Binding struct {
	Buffer BufferKind
	Offset int64
	Length int64
	Write  bool
	Value  string
}

// End is the first byte past the binding.
func (b Binding) End() int64 { return b.Offset + b.Length }

// Overlaps reports whether two bindings share a byte.
func (b Binding) Overlaps(o Binding) bool {
	return b.Buffer == o.Buffer && b.Offset < o.End() && o.Offset < b.End()
}

// Grid is a dispatch's problem size; each contract says what its
// dimensions count (rows × tokens for mat-vecs, heads × tokens for
// attention, ...). Runtimes map it to their own thread grids.
type Grid [3]int

// Dispatch is one kernel launch.
type Dispatch struct {
	Kernel   string // contract name, e.g. "matvec_q4_0"
	Node     string // the graph node it runs, e.g. "blk.3/attn_q"
	Bindings []Binding
	Params   Params
	Grid     Grid
	// Barrier makes the dispatch wait for every earlier dispatch of its
	// command buffer; without it, it may run concurrently with them.
	Barrier bool
}

// CommandBuffer is a group of dispatches submitted together. Command
// buffers run one after another.
type CommandBuffer struct {
	Dispatches []Dispatch
}

// KVLayout places one state value (a layer's K or V cache) in the KV buffer.
type KVLayout struct {
	Name   string
	Offset int64
	Length int64
}

// Plan is a backend-neutral schedule of one step of N tokens.
type Plan struct {
	Name     string
	N        int
	Vocab    int // logits per token
	Buffers  [numBufferKinds]Buffer
	KV       []KVLayout
	Commands []CommandBuffer
}

// Buffer returns the plan's buffer of a kind.
func (p *Plan) Buffer(k BufferKind) Buffer { return p.Buffers[k] }

// Dispatches returns every dispatch in execution order.
func (p *Plan) Dispatches() []*Dispatch {
	var out []*Dispatch
	for ci := range p.Commands {
		for di := range p.Commands[ci].Dispatches {
			out = append(out, &p.Commands[ci].Dispatches[di])
		}
	}
	return out
}
