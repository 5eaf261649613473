package passes

import "github.com/metalgraph/metalgraph/graph"

// DCE removes nodes none of whose outputs reach a graph output, then the
// inputs, weights and state that only they read.
var DCE = Pass{
	Name: "dce",
	Doc:  "remove nodes whose results are never used",
	Run: func(s *State) error {
		removeDead(s.Graph)
		return nil
	},
}

func removeDead(g *graph.Graph) {
	live := map[*graph.Node]bool{}
	var mark func(v *graph.Value)
	mark = func(v *graph.Value) {
		n := v.Producer
		if n == nil || live[n] {
			return
		}
		live[n] = true
		for _, in := range n.Inputs {
			mark(in)
		}
	}
	for _, o := range g.Outputs {
		mark(o)
	}
	var dead []*graph.Node
	for _, n := range g.Nodes {
		if !live[n] {
			dead = append(dead, n)
		}
	}
	g.Remove(dead...)
	g.Prune()
}
