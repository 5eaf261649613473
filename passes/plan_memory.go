package passes

import (
	"fmt"
	"sort"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
)

// arenaAlign is the alignment of every arena and KV offset: a multiple of
// every GPU's minimum buffer-offset alignment and of a cache line, so a
// runtime may bind any value as a buffer of its own.
const arenaAlign = 256

// PlanMemory places every value of the graph in a plan buffer: weights at
// their file offsets, the token input and the logits at 0 of their own
// buffers, state (the KV caches) laid out in declaration order, outputs
// that alias an input at that input's location, and every other
// activation in the arena by liveness over the topological order (the
// order schedule emits), reusing storage greedily by best fit and writing
// in place where the op allows it and the input dies at the node.
var PlanMemory = Pass{
	Name: "plan_memory",
	Doc:  "place every value in a plan buffer; intermediates share an arena by liveness",
	Run: func(s *State) error {
		m, err := planMemory(s.Graph, s.Target.Weights)
		if err != nil {
			return err
		}
		s.Memory = m
		return nil
	},
}

func alignUp(x int64) int64 { return (x + arenaAlign - 1) / arenaAlign * arenaAlign }

func planMemory(g *graph.Graph, weights WeightLocator) (*Memory, error) {
	order, err := g.Topo()
	if err != nil {
		return nil, err
	}
	m := &Memory{Loc: map[*graph.Value]Location{}}
	if err := placeLeaves(g, weights, m); err != nil {
		return nil, err
	}
	if len(g.Outputs) != 1 || g.Outputs[0].Kind != graph.Activation {
		return nil, fmt.Errorf("the plan has one logits buffer: the graph must have exactly one output, an activation (it has %d)", len(g.Outputs))
	}
	out := g.Outputs[0]
	m.Loc[out] = Location{Buffer: plan.Logits}

	lv, err := analyseLiveness(order, out)
	if err != nil {
		return nil, err
	}
	var a arena
	for i, n := range order {
		donated := map[*graph.Value]bool{}
		for k, o := range n.Outputs {
			switch {
			case lv.root[o] != o: // an alias of an input's storage
				m.Loc[o] = m.Loc[lv.root[o]]
			case o == out:
				// placed in the logits buffer above
			default:
				if in := lv.inPlace(n, k, i); in != nil && !donated[in] && m.Loc[in].Buffer == plan.Arena {
					donated[in] = true
					m.Loc[o] = m.Loc[in]
					continue
				}
				m.Loc[o] = Location{Buffer: plan.Arena, Offset: a.alloc(alignUp(o.Bytes()))}
			}
		}
		for _, v := range lv.dying[i] {
			if loc := m.Loc[v]; loc.Buffer == plan.Arena && !donated[v] {
				a.release(loc.Offset, alignUp(v.Bytes()))
			}
		}
	}
	m.Arena = a.top
	return m, nil
}

// placeLeaves locates weights in the file, the token input at the start of
// the tokens buffer and the state values in the KV buffer. The KV layout
// depends only on the state values (in declaration order), so graphs of
// every step size get the same layout and plans share one KV buffer.
func placeLeaves(g *graph.Graph, weights WeightLocator, m *Memory) error {
	inputs := g.ValuesOf(graph.Input)
	if len(inputs) > 1 {
		return fmt.Errorf("the plan has one tokens buffer; the graph has %d inputs (%s, %s, ...)", len(inputs), inputs[0].Name, inputs[1].Name)
	}
	for _, v := range inputs {
		m.Loc[v] = Location{Buffer: plan.Tokens}
	}
	for _, v := range g.ValuesOf(graph.Weight) {
		if weights == nil {
			return fmt.Errorf("weight %s: the target has no weight locator", v.Name)
		}
		off, length, ok := weights.Locate(v.Name)
		if !ok {
			return fmt.Errorf("weight %s is not in the weights file", v.Name)
		}
		if length != v.Bytes() {
			return fmt.Errorf("weight %s: the file holds %d bytes, its %s%s shape needs %d", v.Name, length, v.Type, v.Shape, v.Bytes())
		}
		m.Loc[v] = Location{Buffer: plan.Weights, Offset: off}
	}
	var kv int64
	for _, v := range g.ValuesOf(graph.State) {
		m.Loc[v] = Location{Buffer: plan.KV, Offset: kv}
		m.KV = append(m.KV, plan.KVLayout{Name: v.Name, Offset: kv, Length: v.Bytes()})
		kv += alignUp(v.Bytes())
	}
	return nil
}

// liveness is what placement needs to know about the ordered graph.
type liveness struct {
	// root maps an aliasing output to the value whose storage it is (every
	// other value maps to itself).
	root map[*graph.Value]*graph.Value
	// last is the step of a storage root's last use, over all its aliases.
	last map[*graph.Value]int
	// dying lists the storage roots whose last use is each step.
	dying [][]*graph.Value
}

func analyseLiveness(order []*graph.Node, out *graph.Value) (*liveness, error) {
	lv := &liveness{root: map[*graph.Value]*graph.Value{}, last: map[*graph.Value]int{}, dying: make([][]*graph.Value, len(order))}
	rootOf := func(v *graph.Value) *graph.Value {
		if r, ok := lv.root[v]; ok {
			return r
		}
		return v
	}
	// clobbered records, for storage overwritten through an alias, the
	// step at which the old value stopped being readable.
	clobbered := map[*graph.Value]int{}
	for i, n := range order {
		for _, in := range n.Inputs {
			if at, ok := clobbered[in]; ok && at < i {
				return nil, fmt.Errorf("node %s reads %s after node %s overwrote its storage", n.Name, in.Name, order[at].Name)
			}
			lv.last[rootOf(in)] = i
		}
		for k, o := range n.Outputs {
			lv.root[o] = o
			if a, ok := n.Op.(ops.Aliaser); ok {
				if j, ok := a.Aliases(k); ok {
					if j < 0 || j >= len(n.Inputs) {
						return nil, fmt.Errorf("node %s: output %d aliases input %d, which does not exist", n.Name, k, j)
					}
					in := n.Inputs[j]
					if in.Bytes() != o.Bytes() {
						return nil, fmt.Errorf("node %s: output %s (%d bytes) aliases input %s (%d bytes)", n.Name, o.Name, o.Bytes(), in.Name, in.Bytes())
					}
					if o == out {
						return nil, fmt.Errorf("graph output %s aliases input %s; the logits need a buffer of their own", o.Name, in.Name)
					}
					lv.root[o] = rootOf(in)
					clobbered[in] = i
				}
			}
			lv.last[lv.root[o]] = max(lv.last[lv.root[o]], i)
		}
	}
	roots := make([]*graph.Value, 0, len(lv.last))
	for v := range lv.last {
		roots = append(roots, v)
	}
	sort.Slice(roots, func(a, b int) bool { return roots[a].ID < roots[b].ID }) // deterministic release order
	for _, v := range roots {
		if v.Kind == graph.Activation && v != out {
			lv.dying[lv.last[v]] = append(lv.dying[lv.last[v]], v)
		}
	}
	return lv, nil
}

// inPlace returns the input that output k of n (at step i) may overwrite:
// one the op allows, of the same size, that is its own storage and whose
// last use is this node.
func (lv *liveness) inPlace(n *graph.Node, k, i int) *graph.Value {
	p, ok := n.Op.(ops.InPlacer)
	if !ok {
		return nil
	}
	j, ok := p.InPlace(k)
	if !ok || j < 0 || j >= len(n.Inputs) {
		return nil
	}
	in, o := n.Inputs[j], n.Outputs[k]
	if in.Kind != graph.Activation || lv.root[in] != in || lv.last[in] != i || in.Bytes() != o.Bytes() {
		return nil
	}
	for _, other := range n.Outputs {
		if lv.root[other] == in {
			return nil // another output is that storage already
		}
	}
	return in
}

// arena hands out aligned byte ranges by best fit and takes them back,
// merging neighbours; top is the high-water mark, the arena's size.
type arena struct {
	free []span // sorted by offset, never adjacent
	top  int64
}

type span struct{ off, size int64 }

func (a *arena) alloc(size int64) int64 {
	best := -1
	for i, f := range a.free {
		if f.size >= size && (best < 0 || f.size < a.free[best].size) {
			best = i
		}
	}
	if best >= 0 {
		f := &a.free[best]
		off := f.off
		f.off += size
		f.size -= size
		if f.size == 0 {
			a.free = append(a.free[:best], a.free[best+1:]...)
		}
		return off
	}
	// No free range fits: grow the arena, starting inside a free range
	// that ends at the top.
	off := a.top
	if last := len(a.free) - 1; last >= 0 && a.free[last].off+a.free[last].size == a.top {
		off = a.free[last].off
		a.free = a.free[:last]
	}
	a.top = off + size
	return off
}

func (a *arena) release(off, size int64) {
	if size == 0 {
		return
	}
	i := sort.Search(len(a.free), func(i int) bool { return a.free[i].off > off })
	a.free = append(a.free, span{})
	copy(a.free[i+1:], a.free[i:])
	a.free[i] = span{off, size}
	if i+1 < len(a.free) && a.free[i].off+a.free[i].size == a.free[i+1].off {
		a.free[i].size += a.free[i+1].size
		a.free = append(a.free[:i+1], a.free[i+2:]...)
	}
	if i > 0 && a.free[i-1].off+a.free[i-1].size == a.free[i].off {
		a.free[i-1].size += a.free[i].size
		a.free = append(a.free[:i], a.free[i+1:]...)
	}
}
