package passes

import (
	"fmt"
	"slices"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// VariantRule gives, for some weight types, the step sizes N at which the
// mat-vec family changes kernel: N ≤ MatVecMax runs mat-vec (each token
// reads the weight), N ≤ MultiMatVecMax the multi-token mat-vec (each
// weight row read once for all N tokens), larger N the tiled mat-mat.
type VariantRule struct {
	// Types lists the weight types the row covers; nil makes it the
	// default for every type without a row of its own.
	Types          []quant.Type
	MatVecMax      int
	MultiMatVecMax int
}

// Variants is the one table select_variants reads. Mat-vec is the decode
// kernel (N = 1). The multi-token mat-vec covers speculative verification
// (N = k+1 ≤ 8): it keeps N accumulators per weight row, which stays cheap
// for a handful of tokens, while past that the tiled kernel's reuse of
// loaded tiles wins. No type has a row of its own: nothing measured so far
// shows a type whose break-even differs; a row such as
// {Types: []quant.Type{quant.Q6_K}, MatVecMax: 1, MultiMatVecMax: 4}
// belongs here once runtime benchmarks show one.
var Variants = []VariantRule{
	{Types: nil, MatVecMax: 1, MultiMatVecMax: 8},
}

// AttnDecodeMax is the largest step whose attention runs the decode kernel
// (one pass over the cache per query); larger steps, prefill chunks, run
// the tiled prefill kernel. It matches the multi-token mat-vec range so a
// verification step is a decode step in every kernel.
const AttnDecodeMax = 8

// SelectVariants sets the variant of every matmul, matmul_add, matmul_qkv,
// matmul_gate_up and attention node from Variants, the weight type and the
// step size g.N. It leaves every other op alone.
var SelectVariants = Pass{
	Name: "select_variants",
	Doc:  "choose mat-vec / multi-token mat-vec / tiled and decode / prefill attention by step size",
	Run: func(s *State) error {
		return selectVariants(s.Graph, Variants, AttnDecodeMax)
	},
}

func selectVariants(g *graph.Graph, rules []VariantRule, attnDecodeMax int) error {
	if err := checkRules(rules); err != nil {
		return err
	}
	if g.N <= 0 {
		return fmt.Errorf("graph %s: step size %d must be positive", g.Name, g.N)
	}
	pick := func(n *graph.Node) (ops.Variant, error) {
		r, err := ruleFor(rules, n.Inputs[0].Type)
		if err != nil {
			return 0, fmt.Errorf("node %s: %w", n.Name, err)
		}
		return r.variant(g.N), nil
	}
	for _, n := range g.Nodes {
		var err error
		switch op := n.Op.(type) {
		case ops.MatMulOp:
			op.Variant, err = pick(n)
			n.Op = op
		case ops.MatMulAddOp:
			op.Variant, err = pick(n)
			n.Op = op
		case ops.QKVOp:
			op.Variant, err = pick(n)
			n.Op = op
		case ops.GateUpOp:
			op.Variant, err = pick(n)
			n.Op = op
		case ops.AttentionOp:
			op.Variant = ops.AttnPrefill
			if g.N <= attnDecodeMax {
				op.Variant = ops.AttnDecode
			}
			n.Op = op
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r VariantRule) variant(n int) ops.Variant {
	switch {
	case n <= r.MatVecMax:
		return ops.MatVec
	case n <= r.MultiMatVecMax:
		return ops.MultiMatVec
	}
	return ops.MatMulTiled
}

// ruleFor returns the row listing t, else the default row.
func ruleFor(rules []VariantRule, t quant.Type) (VariantRule, error) {
	var def *VariantRule
	for i, r := range rules {
		if r.Types == nil {
			def = &rules[i]
		} else if slices.Contains(r.Types, t) {
			return r, nil
		}
	}
	if def == nil {
		return VariantRule{}, fmt.Errorf("no variant rule covers weight type %s and there is no default row", t)
	}
	return *def, nil
}

// checkRules rejects a table that would choose ambiguously or backwards.
func checkRules(rules []VariantRule) error {
	seen := map[quant.Type]bool{}
	defaults := 0
	for i, r := range rules {
		if r.MatVecMax < 0 || r.MultiMatVecMax < r.MatVecMax {
			return fmt.Errorf("variant rule %d: thresholds MatVecMax %d, MultiMatVecMax %d must satisfy 0 ≤ MatVecMax ≤ MultiMatVecMax",
				i, r.MatVecMax, r.MultiMatVecMax)
		}
		if r.Types != nil && len(r.Types) == 0 {
			return fmt.Errorf("variant rule %d lists no weight types (leave Types nil for the default row)", i)
		}
		if r.Types == nil {
			if defaults++; defaults > 1 {
				return fmt.Errorf("variant rule %d: a second default row (Types nil)", i)
			}
		}
		for _, t := range r.Types {
			if seen[t] {
				return fmt.Errorf("variant rule %d: weight type %s already has a row", i, t)
			}
			seen[t] = true
		}
	}
	return nil
}
