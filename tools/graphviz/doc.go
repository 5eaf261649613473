// Package graphviz draws metalgraph graphs and plans as Graphviz DOT, with
// github.com/emicklei/dot, so passes and schedules can be looked at.
//
//	g, _ := mistral.Build(m.Config, m.Weights, 1)
//	_ = graphviz.WriteGraph(os.Stdout, g, graphviz.Options{Collapse: true})
//	svg, err := graphviz.RenderSVG([]byte(graphviz.Plan(p).String()))
//
// Graph shows one node per op (its label, so the chosen variant shows, the
// node name, weight types and output shapes), one cluster per transformer
// block ("blk.N/..." node names), colours by op class and edges labelled
// with shapes. Options.Collapse keeps a deep model readable by drawing
// only the first of each run of identical blocks. Plan shows one cluster
// per command buffer with its dispatches in order and a red barrier marker
// between the segments that may run concurrently.
//
// Output is deterministic (node ids follow graph order; attributes are
// sorted), so DOT files work as golden files. RenderSVG runs Graphviz's dot.
package graphviz
