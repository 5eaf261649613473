package ops

import (
	"github.com/metalgraph/metalgraph/graph"
)

// Builder declares nodes in a graph with calls that read like the model.
// It keeps the first error, and every call after one is a no-op returning
// nil, so a model is written straight through and checked once at the end.
type Builder struct {
	G   *graph.Graph
	err error
}

// NewBuilder returns a builder adding to g.
func NewBuilder(g *graph.Graph) *Builder { return &Builder{G: g} }

// Err is the first error met, naming the node.
func (b *Builder) Err() error { return b.err }

func (b *Builder) add(name string, op Op, in ...*graph.Value) []*graph.Value {
	if b.err != nil {
		return make([]*graph.Value, len(in)) // placeholders; never read
	}
	n, err := b.G.Add(name, op, in...)
	if err != nil {
		b.err = err
		return make([]*graph.Value, len(in))
	}
	return n.Outputs
}

// Embed looks up the rows of table for tokens.
func (b *Builder) Embed(name string, table, tokens *graph.Value) *graph.Value {
	return b.add(name, EmbedOp{}, table, tokens)[0]
}

// RMSNorm normalises x and scales by w.
func (b *Builder) RMSNorm(name string, x, w *graph.Value, eps float32) *graph.Value {
	return b.add(name, RMSNormOp{Eps: eps}, x, w)[0]
}

// MatMul multiplies x by the weight w (y = x·wᵀ).
func (b *Builder) MatMul(name string, w, x *graph.Value) *graph.Value {
	return b.add(name, MatMulOp{}, w, x)[0]
}

// Add sums two activations.
func (b *Builder) Add(name string, x, y *graph.Value) *graph.Value {
	return b.add(name, AddOp{}, x, y)[0]
}

// SwiGLU is silu(gate)·up.
func (b *Builder) SwiGLU(name string, gate, up *graph.Value) *graph.Value {
	return b.add(name, SwiGLUOp{}, gate, up)[0]
}

// Rope rotates x by position.
func (b *Builder) Rope(name string, x *graph.Value, op RopeOp) *graph.Value {
	return b.add(name, op, x)[0]
}

// KVWrite stores k and v in the caches and returns the updated caches.
func (b *Builder) KVWrite(name string, kcache, vcache, k, v *graph.Value) (*graph.Value, *graph.Value) {
	out := b.add(name, KVWriteOp{}, kcache, vcache, k, v)
	return out[0], out[1]
}

// Attention attends q over the (updated) caches.
func (b *Builder) Attention(name string, q, kcache, vcache *graph.Value, op AttentionOp) *graph.Value {
	return b.add(name, op, q, kcache, vcache)[0]
}
