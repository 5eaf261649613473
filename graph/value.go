package graph

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/quant"
)

// Shape is a concrete tensor shape, outermost dimension first. Activations
// are [tokens, features]; weights are [rows, row length], the reverse of
// GGUF's ne0-first order.
type Shape []int

// Elements is the product of the dimensions.
func (s Shape) Elements() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether two shapes have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Last is the innermost dimension (the row length), or 0 for a scalar.
func (s Shape) Last() int {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, "×") + "]"
}

// Kind says where a value's bytes come from and how long they live.
type Kind uint8

const (
	// Activation values are produced by a node and live for one step.
	Activation Kind = iota
	// Input values are fed by the caller at every step (token ids).
	Input
	// Weight values are tensors of the model file, bound by name.
	Weight
	// State values persist from step to step (the KV cache); they are
	// identified by name so that graphs built for different step sizes
	// share them.
	State
)

func (k Kind) String() string {
	switch k {
	case Activation:
		return "activation"
	case Input:
		return "input"
	case Weight:
		return "weight"
	case State:
		return "state"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Value is an edge of the graph: a tensor with a concrete shape and type.
type Value struct {
	ID    int
	Name  string
	Kind  Kind
	Type  quant.Type
	Shape Shape
	// Producer is the node whose output this is (nil for inputs, weights and
	// state), and Index its position among that node's outputs.
	Producer *Node
	Index    int
}

// Bytes is the size of the value in memory, from its type's block layout.
func (v *Value) Bytes() int64 {
	if len(v.Shape) == 0 {
		return 0
	}
	row, err := quant.RowBytes(v.Type, int64(v.Shape.Last()))
	if err != nil {
		return 0
	}
	return row * int64(v.Shape.Elements()/max(v.Shape.Last(), 1))
}

func (v *Value) String() string {
	return fmt.Sprintf("%s %s%s", v.Name, v.Type, v.Shape)
}
