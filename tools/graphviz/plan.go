package graphviz

import (
	"fmt"
	"io"
	"strings"

	"github.com/emicklei/dot"

	"github.com/metalgraph/metalgraph/plan"
)

// Plan draws p: a note listing its buffers, one cluster per command buffer
// with its dispatches in order (kernel, node, grid; the bindings as a
// tooltip) and a red "barrier" marker before each dispatch that waits.
// Dispatches between two markers may run concurrently, so each is drawn
// with bold red edges from the marker before it and to the marker after
// it; a bold edge leads from one command buffer to the next.
func Plan(p *plan.Plan) *dot.Graph {
	total, barriers := 0, 0
	for _, cb := range p.Commands {
		total += len(cb.Dispatches)
		for _, d := range cb.Dispatches {
			if d.Barrier {
				barriers++
			}
		}
	}
	d := &drawer{root: newRoot(fmt.Sprintf("plan %s · N=%d · %d dispatches in %d command buffers · %d barriers",
		p.Name, p.N, total, len(p.Commands), barriers))}
	d.root.Attr("compound", "true")
	d.node(d.root, buffersNote(p)).Attrs("shape", "note", "fontname", font, "fontsize", "9")

	index := 0 // dispatch number across the plan
	var prevCluster *dot.Graph
	var prevLast dot.Node
	for ci, cb := range p.Commands {
		c := d.root.Subgraph(fmt.Sprintf("cb%09d", ci), dot.ClusterOption{})
		styleCluster(c, fmt.Sprintf("command buffer %d · %d dispatches", ci, len(cb.Dispatches)))
		var first, last dot.Node
		var segment []dot.Node // dispatches since the last barrier
		var marker *dot.Node   // the barrier before segment, if any
		for _, disp := range cb.Dispatches {
			if disp.Barrier {
				m := d.node(c, "barrier")
				m.Attrs("shape", "box", "style", "filled", "fillcolor", "#e41a1c", "fontcolor", "white",
					"fontname", font, "fontsize", "8", "height", "0.2", "margin", "0.03")
				for _, s := range segment {
					barrierEdge(d.root.Edge(s, m))
				}
				if first.ID() == "" {
					first = m
				}
				segment, marker = nil, &m
			}
			n := d.node(c, fmt.Sprintf("#%d %s\n%s\ngrid %d×%d×%d", index, disp.Kernel, disp.Node,
				disp.Grid[0], disp.Grid[1], disp.Grid[2]))
			box(n, kernelClass(disp.Kernel))
			n.Attr("tooltip", bindings(disp))
			if marker != nil {
				barrierEdge(d.root.Edge(*marker, n))
			}
			if first.ID() == "" {
				first = n
			}
			segment, last = append(segment, n), n
			index++
		}
		if first.ID() == "" { // an empty command buffer still shows
			first = d.node(c, "(no dispatches)")
			first.Attrs("shape", "plaintext", "fontname", font, "fontsize", "9")
			last = first
		}
		if prevCluster != nil {
			e := d.root.Edge(prevLast, first, "then")
			styleEdge(e)
			e.Attrs("style", "bold", "ltail", prevCluster.GetID(), "lhead", c.GetID())
		}
		prevCluster, prevLast = c, last
	}
	return d.root
}

// WritePlan writes the DOT text of Plan(p) to w.
func WritePlan(w io.Writer, p *plan.Plan) error { return write(w, Plan(p)) }

func barrierEdge(e dot.Edge) {
	e.Attrs("color", "#e41a1c", "style", "bold", "arrowsize", "0.6")
}

// kernelClass colours a dispatch like the op it runs, by contract family.
func kernelClass(kernel string) class {
	c, err := plan.Lookup(kernel)
	if err != nil {
		return classOther
	}
	return classOf(c.Family)
}

// bindings lists a dispatch's bindings with their contract roles.
func bindings(disp plan.Dispatch) string {
	c, err := plan.Lookup(disp.Kernel)
	lines := make([]string, len(disp.Bindings))
	for i, b := range disp.Bindings {
		role := fmt.Sprint(i)
		if err == nil && i < len(c.Roles) {
			role = c.Roles[i].Name
		}
		mode := "r"
		if b.Write {
			mode = "w"
		}
		lines[i] = fmt.Sprintf("%s %s %s[%d:%d] %s", role, mode, b.Buffer, b.Offset, b.End(), b.Value)
	}
	return strings.Join(lines, "\n")
}

func buffersNote(p *plan.Plan) string {
	lines := []string{"buffers"}
	for k, b := range p.Buffers {
		lines = append(lines, fmt.Sprintf("%s: %s", plan.BufferKind(k), sizeText(b.Size)))
	}
	return strings.Join(lines, "\n")
}

// sizeText writes a byte count the way people read it: exact below 1 KiB,
// otherwise with two decimals of the largest binary unit.
func sizeText(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}
