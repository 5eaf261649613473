package passes

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

var fusions = []Pass{FuseQKV, FuseGateUp, FuseResidual, FuseRopeKV}

// variantOf returns the variant of a mat-vec family node, and whether the
// node is one.
func variantOf(n *graph.Node) (ops.Variant, bool) {
	switch op := n.Op.(type) {
	case ops.MatMulOp:
		return op.Variant, true
	case ops.MatMulAddOp:
		return op.Variant, true
	case ops.QKVOp:
		return op.Variant, true
	case ops.GateUpOp:
		return op.Variant, true
	}
	return 0, false
}

// tableVariant reads the exported table the way its doc states it: the
// row listing the type, else the default row; N ≤ MatVecMax is mat-vec,
// N ≤ MultiMatVecMax multi-token mat-vec, above that tiled.
func tableVariant(t *testing.T, typ quant.Type, n int) ops.Variant {
	t.Helper()
	var row *VariantRule
	for i := range Variants {
		for _, tt := range Variants[i].Types {
			if tt == typ {
				row = &Variants[i]
			}
		}
	}
	for i := range Variants {
		if row == nil && Variants[i].Types == nil {
			row = &Variants[i]
		}
	}
	require.NotNil(t, row, "no row of Variants covers %s", typ)
	switch {
	case n <= row.MatVecMax:
		return ops.MatVec
	case n <= row.MultiMatVecMax:
		return ops.MultiMatVec
	}
	return ops.MatMulTiled
}

func TestSelectVariants(t *testing.T) {
	before := apply(t, tiny{layers: 1}.graph(t, 1), fusions...)
	after := apply(t, before, SelectVariants)
	goldenDOT(t, "select_variants", before, after)
	assert.Equal(t, "matmul_qkv[matvec]", mustNode(t, after, "blk.0/attn_qkv").Op.(ops.Op).Label())
	assert.Equal(t, "attention[decode]", mustNode(t, after, "blk.0/attn").Op.(ops.Op).Label())
	assert.Equal(t, describe(after), describe(apply(t, after, SelectVariants)), "a second run changes nothing")
}

// TestSelectVariantsStories checks every mat-vec family node and every
// attention of the fused stories260K graph against the table, and that the
// table gives the policy the architecture asks for.
func TestSelectVariantsStories(t *testing.T) {
	m := stories(t)
	policy := map[int]ops.Variant{1: ops.MatVec, 64: ops.MatMulTiled}
	for n := 2; n <= 8; n++ {
		policy[n] = ops.MultiMatVec
	}
	for _, n := range []int{1, 2, 3, 5, 8, 9, 64} {
		t.Run(fmt.Sprint("N=", n), func(t *testing.T) {
			g := apply(t, storiesGraph(t, m, n), append(fusions, SelectVariants)...)
			counted := map[string]int{}
			for _, nd := range g.Nodes {
				if v, ok := variantOf(nd); ok {
					counted[nd.Op.Name()]++
					want := tableVariant(t, nd.Inputs[0].Type, n)
					assert.Equal(t, want, v, nd.Name)
					if p, ok := policy[n]; ok {
						assert.Equal(t, p, v, "%s: the decode/verify/prefill policy", nd.Name)
					}
				}
				if op, ok := nd.Op.(ops.AttentionOp); ok {
					counted["attention"]++
					want := ops.AttnPrefill
					if n <= AttnDecodeMax {
						want = ops.AttnDecode
					}
					assert.Equal(t, want, op.Variant, nd.Name)
				}
			}
			layers := m.Config.Layers
			assert.Equal(t, map[string]int{"matmul_qkv": layers, "matmul_gate_up": layers, "matmul_add": 2 * layers,
				"matmul": 1, "attention": layers}, counted, "every mat-vec and attention node got a variant")
		})
	}
}

func TestSelectVariantsPerTypeRows(t *testing.T) {
	g := apply(t, tiny{layers: 1, types: map[string]quant.Type{"attn_output": quant.Q8_0}}.graph(t, 6), fusions...)
	rules := []VariantRule{
		{Types: []quant.Type{quant.Q8_0}, MatVecMax: 1, MultiMatVecMax: 4},
		{MatVecMax: 1, MultiMatVecMax: 8},
	}
	require.NoError(t, selectVariants(g, rules, 4))
	for name, want := range map[string]ops.Variant{
		"blk.0/attn_output+residual": ops.MatMulTiled, // Q8_0: 6 > 4
		"blk.0/ffn_down+residual":    ops.MultiMatVec, // F32: default row
		"blk.0/attn_qkv":             ops.MultiMatVec,
	} {
		v, _ := variantOf(mustNode(t, g, name))
		assert.Equal(t, want, v, name)
	}
	assert.Equal(t, ops.AttnPrefill, mustNode(t, g, "blk.0/attn").Op.(ops.AttentionOp).Variant, "6 > 4")
}

func TestSelectVariantsLeavesOtherOps(t *testing.T) {
	g := tiny{layers: 1}.graph(t, 3)
	_, err := g.Add("opaque", opaqueOp{}, g.Lookup("output"))
	require.NoError(t, err)
	after := apply(t, g, SelectVariants)
	for i, n := range g.Nodes {
		if _, ok := variantOf(n); ok {
			continue
		}
		if _, ok := n.Op.(ops.AttentionOp); ok {
			continue
		}
		assert.Equal(t, n.Op, after.Nodes[i].Op, n.Name)
	}
}

func TestSelectVariantsRejectsBadTables(t *testing.T) {
	g := tiny{layers: 1, types: map[string]quant.Type{"ffn_down": quant.Q8_0}}.graph(t, 1)
	for _, c := range []struct {
		rules []VariantRule
		err   string
	}{
		{[]VariantRule{{MatVecMax: 4, MultiMatVecMax: 2}}, "must satisfy"},
		{[]VariantRule{{MatVecMax: -1, MultiMatVecMax: 2}}, "must satisfy"},
		{[]VariantRule{{MatVecMax: 1, MultiMatVecMax: 8}, {MatVecMax: 1, MultiMatVecMax: 4}}, "second default row"},
		{[]VariantRule{{Types: []quant.Type{quant.Q8_0}, MatVecMax: 1, MultiMatVecMax: 8},
			{Types: []quant.Type{quant.Q8_0}, MatVecMax: 1, MultiMatVecMax: 4}}, "Q8_0 already has a row"},
		{[]VariantRule{{Types: []quant.Type{}, MatVecMax: 1, MultiMatVecMax: 8}}, "lists no weight types"},
		{[]VariantRule{{Types: []quant.Type{quant.F32}, MatVecMax: 1, MultiMatVecMax: 8}},
			"node blk.0/ffn_down: no variant rule covers weight type Q8_0"},
	} {
		err := selectVariants(g.Clone(), c.rules, AttnDecodeMax)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.err)
	}
	require.NoError(t, checkRules(Variants), "the exported table")
}
