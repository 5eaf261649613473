package modelinfo

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/quant"
)

// blockPrefix matches the block index of a tensor name ("blk.12.").
var blockPrefix = regexp.MustCompile(`^blk\.(\d+)\.`)

// quantMix describes the tensor types of a file in one line: the most
// common matrix type, then every group of tensors that differs from it.
// Matrices are tensors of two or more dimensions; vectors (norms) count as
// exceptions only when they are not F32. Tensors that differ in the same
// way in several blocks are grouped as blk.*.NAME, with "(K of N blocks)"
// when not every block does.
//
// Examples: "Q4_0, output.weight Q6_K"; "F32"; "Q4_K, blk.*.ffn_down.weight
// Q6_K (16 of 32 blocks), output.weight Q6_K".
func quantMix(tensors []gguf.TensorInfo) string {
	if len(tensors) == 0 {
		return "no tensors"
	}
	count := map[quant.Type]int{}
	elems := map[quant.Type]int64{}
	blocks := map[string]bool{}
	for _, t := range tensors {
		if m := blockPrefix.FindStringSubmatch(t.Name); m != nil {
			blocks[m[1]] = true
		}
		if len(t.Dims) >= 2 {
			count[t.Type]++
			elems[t.Type] += t.Elements()
		}
	}
	if len(count) == 0 {
		// Only vectors: the dominant type is that of all tensors.
		for _, t := range tensors {
			count[t.Type]++
			elems[t.Type] += t.Elements()
		}
	}
	dominant, first := quant.Type(0), true
	for t, n := range count {
		if first || n > count[dominant] || n == count[dominant] &&
			(elems[t] > elems[dominant] || elems[t] == elems[dominant] && t < dominant) {
			dominant, first = t, false
		}
	}
	type group struct {
		pattern string
		typ     quant.Type
		names   []string
	}
	var groups []*group
	index := map[string]*group{}
	for _, t := range tensors {
		if len(t.Dims) >= 2 && t.Type == dominant || len(t.Dims) < 2 && (t.Type == quant.F32 || t.Type == dominant) {
			continue
		}
		pattern := blockPrefix.ReplaceAllString(t.Name, "blk.*.")
		key := pattern + "\x00" + t.Type.String()
		g := index[key]
		if g == nil {
			g = &group{pattern: pattern, typ: t.Type}
			index[key] = g
			groups = append(groups, g)
		}
		g.names = append(g.names, t.Name)
	}
	parts := []string{dominant.String()}
	for _, g := range groups {
		switch {
		case len(g.names) == 1:
			parts = append(parts, g.names[0]+" "+g.typ.String())
		case len(g.names) == len(blocks):
			parts = append(parts, g.pattern+" "+g.typ.String())
		default:
			parts = append(parts, fmt.Sprintf("%s %s (%d of %d blocks)", g.pattern, g.typ, len(g.names), len(blocks)))
		}
	}
	return strings.Join(parts, ", ")
}
