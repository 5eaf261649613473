package graphviz

import (
	"strings"

	"github.com/emicklei/dot"
)

// class groups ops and kernels that are coloured alike.
type class uint8

const (
	classOther class = iota
	classMatMul
	classNorm
	classAttention // rope, KV cache writes, attention
	classElementwise
	classEmbed // embedding lookups and the graph's inputs and outputs
)

// Pastel fills (ColorBrewer Pastel1), light enough for black text.
var fills = [...]string{
	classOther:       "#f2f2f2",
	classMatMul:      "#b3cde3",
	classNorm:        "#ffffcc",
	classAttention:   "#ccebc5",
	classElementwise: "#fed9a6",
	classEmbed:       "#decbe4",
}

// classes maps op names and kernel families (without their "@form") to
// their class; both namings meet here so graphs and plans match.
var classes = map[string]class{
	"matmul": classMatMul, "matmul_add": classMatMul, "matmul_qkv": classMatMul,
	"matmul_gate_up": classMatMul, "matvec": classMatMul, "mtmatvec": classMatMul,
	"rmsnorm": classNorm,
	"rope":    classAttention, "kv_write": classAttention, "rope_kv_write": classAttention,
	"attention": classAttention, "attn_decode": classAttention, "attn_prefill": classAttention,
	"add": classElementwise, "swiglu": classElementwise,
	"embed": classEmbed,
}

func classOf(name string) class {
	name, _, _ = strings.Cut(name, "@")
	return classes[name]
}

const font = "Helvetica"

// box styles an op or dispatch node.
func box(n dot.Node, c class) {
	n.Attrs("shape", "box", "style", "rounded,filled", "fillcolor", fills[c],
		"fontname", font, "fontsize", "10")
}

// terminal styles a graph input or output.
func terminal(n dot.Node) {
	n.Attrs("shape", "oval", "style", "filled", "fillcolor", fills[classEmbed],
		"fontname", font, "fontsize", "10")
}

func styleEdge(e dot.Edge) {
	e.Attrs("fontname", font, "fontsize", "8")
}

func newRoot(label string) *dot.Graph {
	g := dot.NewGraph(dot.Directed)
	g.Attrs("label", label, "labelloc", "t", "fontname", font, "fontsize", "12",
		"rankdir", "TB", "nodesep", "0.25", "ranksep", "0.35")
	return g
}

func styleCluster(c *dot.Graph, label string) {
	c.Attrs("label", label, "style", "rounded,filled", "fillcolor", "#fbfbfb",
		"color", "#999999", "fontname", font, "fontsize", "11", "labeljust", "l")
}
