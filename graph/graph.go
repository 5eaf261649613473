package graph

import (
	"fmt"
	"sort"

	"github.com/metalgraph/metalgraph/quant"
)

// Graph is a model step: the ops that turn N input tokens into outputs.
// Shapes are concrete, so a graph is built per step size N.
type Graph struct {
	Name string
	// N is the number of tokens the step processes.
	N       int
	Nodes   []*Node
	Values  []*Value
	Outputs []*Value
	nextID  int
}

// New returns an empty graph for a step of n tokens.
func New(name string, n int) *Graph { return &Graph{Name: name, N: n} }

func (g *Graph) newValue(name string, kind Kind, typ quant.Type, shape Shape) *Value {
	v := &Value{ID: g.nextID, Name: name, Kind: kind, Type: typ, Shape: append(Shape(nil), shape...)}
	g.nextID++
	g.Values = append(g.Values, v)
	return v
}

// Input declares a per-step input such as the token ids.
func (g *Graph) Input(name string, typ quant.Type, shape ...int) *Value {
	return g.newValue(name, Input, typ, shape)
}

// Weight declares a tensor of the model file, bound later by name. Shape is
// [rows, row length] (GGUF's dims reversed).
func (g *Graph) Weight(name string, typ quant.Type, shape ...int) *Value {
	return g.newValue(name, Weight, typ, shape)
}

// State declares a tensor that persists across steps, such as a KV cache.
func (g *Graph) State(name string, typ quant.Type, shape ...int) *Value {
	return g.newValue(name, State, typ, shape)
}

// Add appends a node applying op to inputs. Output types and shapes come
// from the op's inference; an error names the node. Output values are
// named after the node ("blk.0/attn_q", or "blk.0/qkv:1" past the first).
func (g *Graph) Add(name string, op Op, inputs ...*Value) (*Node, error) {
	for i, in := range inputs {
		if in == nil {
			return nil, fmt.Errorf("graph: node %s (%s): input %d is nil", name, op.Name(), i)
		}
	}
	outs, err := op.Infer(inputs)
	if err != nil {
		return nil, fmt.Errorf("graph: node %s (%s): %w", name, op.Name(), err)
	}
	n := &Node{ID: g.nextID, Name: name, Op: op, Inputs: append([]*Value(nil), inputs...)}
	g.nextID++
	for i, o := range outs {
		vname := name
		if i > 0 {
			vname = fmt.Sprintf("%s:%d", name, i)
		}
		v := g.newValue(vname, Activation, o.Type, o.Shape)
		v.Producer, v.Index = n, i
		n.Outputs = append(n.Outputs, v)
	}
	g.Nodes = append(g.Nodes, n)
	return n, nil
}

// Output marks values as the graph's results (kept alive by every pass).
func (g *Graph) Output(vs ...*Value) { g.Outputs = append(g.Outputs, vs...) }

// Lookup finds a value by name.
func (g *Graph) Lookup(name string) *Value {
	for _, v := range g.Values {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// NodeNamed finds a node by name.
func (g *Graph) NodeNamed(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// ValuesOf returns the graph's values of one kind, in declaration order.
func (g *Graph) ValuesOf(k Kind) []*Value {
	var out []*Value
	for _, v := range g.Values {
		if v.Kind == k {
			out = append(out, v)
		}
	}
	return out
}

// Uses maps each value to the nodes that read it, in node order.
func (g *Graph) Uses() map[*Value][]*Node {
	uses := make(map[*Value][]*Node)
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			uses[in] = append(uses[in], n)
		}
	}
	return uses
}

// ReplaceUses makes every reader of old (and the outputs list) read repl.
func (g *Graph) ReplaceUses(old, repl *Value) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = repl
			}
		}
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = repl
		}
	}
}

// Remove deletes nodes and their output values. Callers make sure nothing
// still reads those outputs; Verify reports it otherwise.
func (g *Graph) Remove(nodes ...*Node) {
	gone := make(map[*Node]bool, len(nodes))
	for _, n := range nodes {
		gone[n] = true
	}
	g.Nodes = filter(g.Nodes, func(n *Node) bool { return !gone[n] })
	g.Values = filter(g.Values, func(v *Value) bool { return v.Producer == nil || !gone[v.Producer] })
}

// Prune drops weight, input and state values that no node reads.
func (g *Graph) Prune() {
	uses := g.Uses()
	out := make(map[*Value]bool)
	for _, v := range g.Outputs {
		out[v] = true
	}
	g.Values = filter(g.Values, func(v *Value) bool {
		return v.Kind == Activation || len(uses[v]) > 0 || out[v]
	})
}

func filter[T any](xs []T, keep func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	clear(xs[len(out):])
	return out
}

// Topo returns the nodes in a topological order that keeps the insertion
// order wherever the dependencies allow, so schedules stay readable and
// deterministic. It fails on a cycle, naming a node on it.
func (g *Graph) Topo() ([]*Node, error) {
	index := make(map[*Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n] = i
	}
	pending := make(map[*Node]int, len(g.Nodes))
	readers := make(map[*Node][]*Node)
	for _, n := range g.Nodes {
		seen := map[*Node]bool{}
		for _, in := range n.Inputs {
			if p := in.Producer; p != nil && !seen[p] {
				if _, ok := index[p]; ok {
					seen[p] = true
					pending[n]++
					readers[p] = append(readers[p], n)
				}
			}
		}
	}
	// ready is kept sorted by insertion index: a tiny priority queue.
	var ready []*Node
	for _, n := range g.Nodes {
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, r := range readers[n] {
			pending[r]--
			if pending[r] == 0 {
				at := sort.Search(len(ready), func(i int) bool { return index[ready[i]] > index[r] })
				ready = append(ready, nil)
				copy(ready[at+1:], ready[at:])
				ready[at] = r
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for _, n := range g.Nodes {
			if pending[n] > 0 {
				return nil, fmt.Errorf("graph %s: cycle through node %s", g.Name, n.Name)
			}
		}
	}
	return order, nil
}

// Sort reorders g.Nodes topologically (see Topo).
func (g *Graph) Sort() error {
	order, err := g.Topo()
	if err != nil {
		return err
	}
	g.Nodes = order
	return nil
}

// Clone returns a deep copy: new nodes and values, the same ops (ops are
// immutable attribute structs) and names.
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name, N: g.N, nextID: g.nextID}
	vmap := make(map[*Value]*Value, len(g.Values))
	nmap := make(map[*Node]*Node, len(g.Nodes))
	for _, v := range g.Values {
		cv := *v
		cv.Shape = append(Shape(nil), v.Shape...)
		vmap[v] = &cv
		c.Values = append(c.Values, &cv)
	}
	for _, n := range g.Nodes {
		cn := &Node{ID: n.ID, Name: n.Name, Op: n.Op}
		nmap[n] = cn
		c.Nodes = append(c.Nodes, cn)
	}
	mapValue := func(v *Value) *Value {
		if cv, ok := vmap[v]; ok {
			return cv
		}
		return v // a value outside the graph; Verify reports it
	}
	for _, n := range g.Nodes {
		cn := nmap[n]
		for _, in := range n.Inputs {
			cn.Inputs = append(cn.Inputs, mapValue(in))
		}
		for _, o := range n.Outputs {
			cn.Outputs = append(cn.Outputs, mapValue(o))
		}
	}
	for _, cv := range c.Values {
		if cv.Producer != nil {
			cv.Producer = nmap[cv.Producer]
		}
	}
	for _, o := range g.Outputs {
		c.Outputs = append(c.Outputs, mapValue(o))
	}
	return c
}
