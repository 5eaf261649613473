package ops

import (
	"fmt"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

// Step holds what changes from step to step: the position of the step's
// first token. Token i of the step sits at position Pos0+i.
type Step struct{ Pos0 int }

// Tensor is a dense row-major tensor for the reference evaluator: float32
// data in F, or token ids in I. Type records the storage type it stands for
// (an F16 cache is held as float32 values rounded through F16).
type Tensor struct {
	Shape graph.Shape
	Type  quant.Type
	F     []float32
	I     []int32
}

// NewTensor returns a zeroed F32 tensor.
func NewTensor(shape ...int) *Tensor {
	s := graph.Shape(shape)
	return &Tensor{Shape: s, Type: quant.F32, F: make([]float32, s.Elements())}
}

// Row returns row i of a rank-2 tensor.
func (t *Tensor) Row(i int) []float32 {
	w := t.Shape.Last()
	return t.F[i*w : (i+1)*w]
}

// Clone copies the tensor.
func (t *Tensor) Clone() *Tensor {
	c := *t
	c.Shape = append(graph.Shape(nil), t.Shape...)
	c.F = append([]float32(nil), t.F...)
	c.I = append([]int32(nil), t.I...)
	return &c
}

// WeightSource gives the raw bytes of a weight tensor by name.
type WeightSource interface {
	WeightBytes(name string) ([]byte, error)
}

// Evaluator runs graphs op by op in plain float32 Go. Weights are
// dequantised once and kept; state (the KV cache) is kept by name between
// steps, so graphs built for different step sizes share it. It is slow on
// purpose: it is the reference passes and runtimes are tested against.
type Evaluator struct {
	weights WeightSource
	deq     map[string]*Tensor
	state   map[string]*Tensor
}

// NewEvaluator returns an evaluator over the given weights.
func NewEvaluator(w WeightSource) *Evaluator {
	return &Evaluator{weights: w, deq: map[string]*Tensor{}, state: map[string]*Tensor{}}
}

// Reset forgets the state (clears the KV cache).
func (e *Evaluator) Reset() { clear(e.state) }

// Run evaluates g for one step: tokens feed the graph's single I32 input,
// and the step starts at position pos0. It returns the graph's outputs.
func (e *Evaluator) Run(g *graph.Graph, tokens []int32, pos0 int) ([]*Tensor, error) {
	order, err := g.Topo()
	if err != nil {
		return nil, err
	}
	vals := make(map[*graph.Value]*Tensor)
	for _, v := range g.Values {
		switch v.Kind {
		case graph.Input:
			if len(tokens) != v.Shape.Elements() {
				return nil, fmt.Errorf("input %s wants %d tokens, got %d", v.Name, v.Shape.Elements(), len(tokens))
			}
			vals[v] = &Tensor{Shape: v.Shape, Type: quant.I32, I: tokens}
		case graph.Weight:
			t, err := e.weight(v)
			if err != nil {
				return nil, err
			}
			vals[v] = t
		case graph.State:
			t, ok := e.state[v.Name]
			if !ok || !t.Shape.Equal(v.Shape) || t.Type != v.Type {
				t = NewTensor(v.Shape...)
				t.Type = v.Type
				e.state[v.Name] = t
			}
			vals[v] = t
		}
	}
	step := Step{Pos0: pos0}
	for _, n := range order {
		op, ok := n.Op.(Op)
		if !ok {
			return nil, fmt.Errorf("node %s: op %s has no reference evaluation", n.Name, n.Op.Name())
		}
		in := make([]*Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if in[i] = vals[v]; in[i] == nil {
				return nil, fmt.Errorf("node %s: input %s has no value", n.Name, v.Name)
			}
		}
		out, err := op.Eval(step, in)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		for i, v := range n.Outputs {
			vals[v] = out[i]
		}
	}
	res := make([]*Tensor, len(g.Outputs))
	for i, v := range g.Outputs {
		res[i] = vals[v]
	}
	return res, nil
}

func (e *Evaluator) weight(v *graph.Value) (*Tensor, error) {
	if t, ok := e.deq[v.Name]; ok {
		return t, nil
	}
	raw, err := e.weights.WeightBytes(v.Name)
	if err != nil {
		return nil, err
	}
	t := NewTensor(v.Shape...)
	if want := v.Bytes(); int64(len(raw)) != want {
		return nil, fmt.Errorf("weight %s: %d bytes, its %s%s shape needs %d", v.Name, len(raw), v.Type, v.Shape, want)
	}
	w := v.Shape.Last()
	rows := len(t.F) / w
	rowBytes := len(raw) / rows
	for r := range rows {
		if err := quant.DequantizeRow(v.Type, raw[r*rowBytes:(r+1)*rowBytes], t.F[r*w:(r+1)*w]); err != nil {
			return nil, fmt.Errorf("weight %s row %d: %w", v.Name, r, err)
		}
	}
	e.deq[v.Name] = t
	return t, nil
}
