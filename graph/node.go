package graph

import (
	"fmt"

	"github.com/metalgraph/metalgraph/quant"
)

// Op is one operation of the op table. Concrete ops are small structs of
// typed attributes (package ops); the graph only needs their name and the
// inference that Verify checks against.
type Op interface {
	// Name is the op's row name in the table, e.g. "rmsnorm".
	Name() string
	// Infer checks the inputs (arity, types, shapes) and returns the
	// outputs' types and shapes.
	Infer(in []*Value) ([]Out, error)
}

// Out is the type and shape of one output, as an op infers it.
type Out struct {
	Type  quant.Type
	Shape Shape
}

// Node applies an Op to input values and produces output values.
type Node struct {
	ID      int
	Name    string
	Op      Op
	Inputs  []*Value
	Outputs []*Value
}

// Out returns the node's single output; it is for ops with one output.
func (n *Node) Out() *Value { return n.Outputs[0] }

func (n *Node) String() string {
	return fmt.Sprintf("%s (%s)", n.Name, n.Op.Name())
}
