package graphviz

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/emicklei/dot"

	"github.com/metalgraph/metalgraph/graph"
)

// Options shape the graph picture.
type Options struct {
	// Collapse draws only the first block of each run of consecutive
	// identical transformer blocks, labelled with the run ("blk.0 … blk.31
	// ×32 identical"), so a deep model stays readable. Blocks are identical
	// when their ops (with every attribute), wiring, types and shapes are.
	Collapse bool
}

// Graph draws g: an oval per graph input and output, a box per node
// labelled with its op (variant included), name, weight and state inputs
// and output types and shapes, one cluster per transformer block, and an
// edge per activation read, labelled with its shape.
func Graph(g *graph.Graph, o Options) *dot.Graph {
	bs := splitBlocks(g, o.Collapse)
	title := fmt.Sprintf("%s · N=%d · %d nodes", g.Name, g.N, len(g.Nodes))
	if bs.hidden > 0 {
		title += fmt.Sprintf(" · %d blocks drawn as %d", len(bs.shown)+bs.hidden, len(bs.shown))
	}
	d := &drawer{root: newRoot(title)}

	inputs := map[*graph.Value]dot.Node{}
	for _, v := range g.ValuesOf(graph.Input) {
		n := d.node(d.root, v.Name+"\n"+typeShape(v))
		terminal(n)
		inputs[v] = n
	}

	clusters := map[*block]*dot.Graph{}
	for _, b := range bs.shown {
		c := d.root.Subgraph(fmt.Sprintf("blk.%09d", b.num), dot.ClusterOption{})
		styleCluster(c, b.label())
		clusters[b] = c
	}
	drawn := map[*graph.Node]dot.Node{}
	for _, n := range g.Nodes {
		if bs.show(n) != n {
			continue
		}
		parent := d.root
		if b := bs.of[n]; b != nil {
			parent = clusters[b]
		}
		dn := d.node(parent, nodeLabel(n))
		box(dn, classOf(n.Op.Name()))
		dn.Attr("tooltip", tooltip(n))
		drawn[n] = dn
	}

	type edgeKey struct {
		from      *graph.Node
		input     *graph.Value // graph inputs have no producer
		out, slot int
		to        *graph.Node
	}
	seen := map[edgeKey]bool{}
	for _, c := range g.Nodes {
		to, ok := drawn[bs.show(c)]
		if !ok {
			continue
		}
		for slot, v := range c.Inputs {
			var from dot.Node
			k := edgeKey{slot: slot, to: bs.show(c)}
			switch p := v.Producer; {
			case v.Kind == graph.Input:
				from, ok = inputs[v]
				k.input = v
			case p != nil && !bs.folded(p, c):
				from, ok = drawn[bs.show(p)]
				k.from, k.out = bs.show(p), v.Index
			default:
				ok = false // weights and state are in the label
			}
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			styleEdge(d.root.Edge(from, to, edgeLabel(v)))
		}
	}

	for i, v := range g.Outputs {
		name := "graph output"
		if len(g.Outputs) > 1 {
			name = fmt.Sprintf("graph output %d", i)
		}
		n := d.node(d.root, name+"\n"+typeShape(v))
		terminal(n)
		var from dot.Node
		var ok bool
		if p := v.Producer; p != nil {
			from, ok = drawn[bs.show(p)]
		} else {
			from, ok = inputs[v]
		}
		if ok {
			styleEdge(d.root.Edge(from, n, edgeLabel(v)))
		}
	}
	return d.root
}

// WriteGraph writes the DOT text of Graph(g, o) to w.
func WriteGraph(w io.Writer, g *graph.Graph, o Options) error {
	return write(w, Graph(g, o))
}

func write(w io.Writer, g *dot.Graph) error {
	var b bytes.Buffer
	g.Write(&b)
	_, err := w.Write(b.Bytes())
	return err
}

// drawer hands out node ids in creation order; the dot package writes
// nodes sorted by id, so the text follows graph order.
type drawer struct {
	root *dot.Graph
	next int
}

func (d *drawer) node(parent *dot.Graph, label string) dot.Node {
	d.next++
	return parent.Node(fmt.Sprintf("%06d", d.next)).Label(label)
}

func typeShape(v *graph.Value) string { return fmt.Sprintf("%s %s", v.Type, v.Shape) }

// nodeLabel: op label, node name (unless the same), weight and state
// inputs, outputs.
func nodeLabel(n *graph.Node) string {
	lines := []string{opLabel(n.Op)}
	if n.Name != lines[0] {
		lines = append(lines, n.Name)
	}
	for _, in := range n.Inputs {
		switch in.Kind {
		case graph.Weight:
			lines = append(lines, "W: "+typeShape(in))
		case graph.State:
			lines = append(lines, "S: "+in.Name+" "+typeShape(in))
		}
	}
	for _, out := range n.Outputs {
		lines = append(lines, "→ "+typeShape(out))
	}
	return strings.Join(lines, "\n")
}

// tooltip lists the values a node reads, by name (shown on hover in SVG).
func tooltip(n *graph.Node) string {
	lines := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		lines[i] = fmt.Sprintf("%s (%s %s)", in.Name, in.Kind, typeShape(in))
	}
	return strings.Join(lines, "\n")
}

// edgeLabel is the value's shape, prefixed by its output index when its
// producer has several outputs.
func edgeLabel(v *graph.Value) string {
	if p := v.Producer; p != nil && len(p.Outputs) > 1 {
		return fmt.Sprintf(":%d %s", v.Index, v.Shape)
	}
	return v.Shape.String()
}
