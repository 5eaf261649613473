package passes

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
)

// checkOrder reports every constraint of order that pipeline breaks, and
// every constraint naming a pass pipeline lacks or giving no reason.
func checkOrder(pipeline []Pass, order []Before) error {
	at := map[string]int{}
	for i, p := range pipeline {
		at[p.Name] = i
	}
	var errs []error
	for _, c := range order {
		first, ok1 := at[c.First]
		then, ok2 := at[c.Then]
		switch {
		case !ok1 || !ok2:
			errs = append(errs, fmt.Errorf("%s before %s: no such pass in the pipeline", c.First, c.Then))
		case first >= then:
			errs = append(errs, fmt.Errorf("%s must run before %s (%s)", c.First, c.Then, c.Why))
		case c.Why == "":
			errs = append(errs, fmt.Errorf("%s before %s gives no reason", c.First, c.Then))
		}
	}
	return errors.Join(errs...)
}

func TestPipelineOrder(t *testing.T) {
	require.NoError(t, checkOrder(Pipeline, Order))

	// The check can fail: reversed, the pipeline breaks every constraint.
	reversed := slices.Clone(Pipeline)
	slices.Reverse(reversed)
	err := checkOrder(reversed, Order)
	require.Error(t, err)
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), len(Order))
	assert.ErrorContains(t, checkOrder(Pipeline, []Before{{"dce", "fuse_everything", "x"}}), "no such pass")

	// Every fusion has its constraints: after dce, before select_variants.
	for _, f := range fusions {
		assert.Contains(t, Order, Before{"dce", f.Name, deadReaders})
		assert.Contains(t, Order, Before{f.Name, "select_variants", finalOps})
	}
}

// TestFusionsCommute backs Order's claim that the fusions need no order
// among themselves: every permutation gives the same graph.
func TestFusionsCommute(t *testing.T) {
	m := stories(t)
	for _, g := range []*graph.Graph{tiny{layers: 2}.graph(t, 2), storiesGraph(t, m, 2)} {
		want := describe(apply(t, g, fusions...))
		orders := 0
		permute(fusions, func(order []Pass) {
			orders++
			assert.Equal(t, want, describe(apply(t, g, order...)), "order %s", passNamesOf(order))
		})
		assert.Equal(t, 24, orders)
	}
}

func TestDeadReaderBlocksFusion(t *testing.T) {
	// Why dce runs first: a dead reader of the up product blocks gate_up
	// until dce removes it.
	g := tiny{layers: 1}.graph(t, 1)
	_, err := g.Add("dead", opaqueOp{}, g.Lookup("blk.0/ffn_up"))
	require.NoError(t, err)
	assert.Nil(t, apply(t, g, FuseGateUp).NodeNamed("blk.0/ffn_gate_up"))
	mustNode(t, apply(t, g, DCE, FuseGateUp), "blk.0/ffn_gate_up")
}

func permute(ps []Pass, visit func([]Pass)) {
	if len(ps) <= 1 {
		visit(ps)
		return
	}
	for i := range ps {
		rest := append(slices.Clone(ps[:i]), ps[i+1:]...)
		permute(rest, func(tail []Pass) { visit(append([]Pass{ps[i]}, tail...)) })
	}
}

func passNamesOf(ps []Pass) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
