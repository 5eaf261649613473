package ops

import (
	"fmt"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

// Op is a row of the op table: a graph.Op that also knows its cost and how
// to evaluate itself in plain float32 Go.
type Op interface {
	graph.Op
	// Label is the name shown in dumps; it includes the chosen variant.
	Label() string
	// Cost is the work one execution does, from the node's values.
	Cost(in, out []*graph.Value) Cost
	// Eval is the obviously-correct reference: it computes the outputs from
	// the inputs (weights already dequantised to float32).
	Eval(s Step, in []*Tensor) ([]*Tensor, error)
}

// Fused ops name their decomposition into primitive ops, so that every
// fusion can be undone and both forms compared.
type Fused interface {
	Op
	// Decompose adds primitive nodes to g that compute n's outputs from
	// n's inputs and returns them, one per output of n.
	Decompose(g *graph.Graph, n *graph.Node) ([]*graph.Value, error)
}

// Cost is the work of one op execution. Weight bytes are counted apart
// from activation bytes because they dominate decoding.
type Cost struct {
	WeightBytes int64 // bytes of model weights read
	ReadBytes   int64 // activation and state bytes read
	WriteBytes  int64 // activation and state bytes written
	Flops       int64
}

// Add sums two costs.
func (c Cost) Add(o Cost) Cost {
	return Cost{c.WeightBytes + o.WeightBytes, c.ReadBytes + o.ReadBytes, c.WriteBytes + o.WriteBytes, c.Flops + o.Flops}
}

// Variant is the kernel family a mat-vec op runs as; select_variants
// chooses it from the step size and the weight type.
type Variant uint8

const (
	// Unselected leaves the choice to select_variants.
	Unselected Variant = iota
	// MatVec reads the weight once per token: the decode kernel (N = 1).
	MatVec
	// MultiMatVec reads each weight row once for all N tokens of a small
	// step (speculative verification).
	MultiMatVec
	// MatMulTiled is the tiled mat-mat kernel for prefill.
	MatMulTiled
)

func (v Variant) String() string {
	switch v {
	case Unselected:
		return ""
	case MatVec:
		return "matvec"
	case MultiMatVec:
		return "mt_matvec"
	case MatMulTiled:
		return "matmul"
	}
	return fmt.Sprintf("variant(%d)", uint8(v))
}

// WeightReads is how many times a step of n tokens reads the weight.
func (v Variant) WeightReads(n int) int64 {
	if v == MatVec || v == Unselected {
		return int64(n)
	}
	return 1
}

// AttnVariant is the attention kernel family.
type AttnVariant uint8

const (
	AttnUnselected AttnVariant = iota
	// AttnDecode: one or a few queries against the cache.
	AttnDecode
	// AttnPrefill: many causal queries, tiled.
	AttnPrefill
)

func (v AttnVariant) String() string {
	switch v {
	case AttnUnselected:
		return ""
	case AttnDecode:
		return "decode"
	case AttnPrefill:
		return "prefill"
	}
	return fmt.Sprintf("attn_variant(%d)", uint8(v))
}

func label(name string, variant fmt.Stringer) string {
	if s := variant.String(); s != "" {
		return name + "[" + s + "]"
	}
	return name
}

// Info is one row of the op table as listed for documentation and tests.
type Info struct {
	Name    string
	Inputs  int // arity
	Outputs int
	Fused   bool
	Doc     string
}

// Table lists every op, primitive ops first.
var Table = []Info{
	{"embed", 2, 1, false, "rows of a (quantised) table picked by token id"},
	{"rmsnorm", 2, 1, false, "x / sqrt(mean(x²) + eps) · w"},
	{"matmul", 2, 1, false, "y = x · Wᵀ against a quantised weight"},
	{"rope", 1, 1, false, "rotary position embedding, Llama pairing"},
	{"kv_write", 4, 2, false, "store the step's K and V rows at its positions"},
	{"attention", 3, 1, false, "causal GQA attention over the KV cache"},
	{"swiglu", 2, 1, false, "silu(gate) · up"},
	{"add", 2, 1, false, "elementwise sum"},
	{"matmul_add", 3, 1, true, "r + x · Wᵀ (residual folded into the mat-vec)"},
	{"matmul_qkv", 4, 3, true, "Q, K and V projections of one input in one dispatch"},
	{"matmul_gate_up", 3, 1, true, "silu(x·Wgᵀ) · (x·Wuᵀ) in one dispatch"},
	{"rope_kv_write", 5, 3, true, "rope Q and K and store K, V in the cache"},
}

func arity(in []*graph.Value, want int) error {
	if len(in) != want {
		return fmt.Errorf("takes %d inputs, got %d", want, len(in))
	}
	return nil
}

func wantF32(v *graph.Value, role string) error {
	if v.Type != quant.F32 {
		return fmt.Errorf("%s %s must be F32, is %s", role, v.Name, v.Type)
	}
	return nil
}

func wantRank(v *graph.Value, rank int, role string) error {
	if len(v.Shape) != rank {
		return fmt.Errorf("%s %s must have rank %d, has shape %s", role, v.Name, rank, v.Shape)
	}
	return nil
}

func wantSame(a, b *graph.Value) error {
	if !a.Shape.Equal(b.Shape) {
		return fmt.Errorf("shapes differ: %s is %s, %s is %s", a.Name, a.Shape, b.Name, b.Shape)
	}
	return nil
}

func f32(v *graph.Value) int64 { return int64(v.Shape.Elements()) * 4 }

func one(t quant.Type, s graph.Shape) []graph.Out { return []graph.Out{{Type: t, Shape: s}} }

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
