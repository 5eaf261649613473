package graphviz

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// blockNum returns N for a node named "blk.N/...", or -1.
func blockNum(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	num, _, ok := strings.Cut(rest, "/")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || strconv.Itoa(n) != num {
		return -1
	}
	return n
}

// block is the nodes of one transformer block, in graph order.
type block struct {
	num   int
	nodes []*graph.Node
	// first and last are the block numbers of the run of identical blocks
	// this block is drawn for (both num when it stands alone).
	first, last int
}

func (b *block) label() string {
	if b.first == b.last {
		return fmt.Sprintf("blk.%d", b.num)
	}
	return fmt.Sprintf("blk.%d … blk.%d ×%d identical", b.first, b.last, b.last-b.first+1)
}

// blocks splits a graph's nodes by block and, when collapsing, folds each
// run of consecutive identical blocks into its first one.
type blocks struct {
	of map[*graph.Node]*block // the block a node belongs to
	// drawn maps every node of a folded block to the node it is drawn as,
	// the one at the same place in the first block of its run.
	drawn  map[*graph.Node]*graph.Node
	shown  []*block // blocks drawn, by number
	hidden int      // blocks folded away
}

func splitBlocks(g *graph.Graph, collapse bool) *blocks {
	bs := &blocks{of: map[*graph.Node]*block{}, drawn: map[*graph.Node]*graph.Node{}}
	byNum := map[int]*block{}
	for _, n := range g.Nodes {
		num := blockNum(n.Name)
		if num < 0 {
			continue
		}
		b := byNum[num]
		if b == nil {
			b = &block{num: num, first: num, last: num}
			byNum[num] = b
		}
		b.nodes = append(b.nodes, n)
		bs.of[n] = b
	}
	nums := make([]int, 0, len(byNum))
	for num := range byNum {
		nums = append(nums, num)
	}
	slices.Sort(nums)
	var head *block // first block of the current run
	var headSig string
	for _, num := range nums {
		b := byNum[num]
		sig := signature(b, bs.of)
		if collapse && head != nil && num == head.last+1 && sig == headSig {
			head.last = num
			for i, n := range b.nodes {
				bs.drawn[n] = head.nodes[i]
			}
			bs.hidden++
			continue
		}
		head, headSig = b, sig
		bs.shown = append(bs.shown, b)
	}
	return bs
}

// show is the node drawn for n: itself, or its stand-in in the first
// block of a folded run.
func (bs *blocks) show(n *graph.Node) *graph.Node {
	if d, ok := bs.drawn[n]; ok {
		return d
	}
	return n
}

// folded reports whether an edge from p to c runs between two different
// blocks of one folded run; such edges chain the hidden copies and are
// not drawn.
func (bs *blocks) folded(p, c *graph.Node) bool {
	bp, bc := bs.of[p], bs.of[c]
	if bp == nil || bc == nil || bp == bc {
		return false
	}
	rp, rc := bs.of[bs.show(p)], bs.of[bs.show(c)]
	return rp == rc
}

// signature describes a block by what a picture of it shows and what makes
// it compute the same: per node its name within the block, its op with
// every attribute, where each input comes from (a node of the block, or an
// outside value's kind, type and shape) and its outputs' types and shapes.
func signature(b *block, of map[*graph.Node]*block) string {
	at := make(map[*graph.Node]int, len(b.nodes))
	for i, n := range b.nodes {
		at[n] = i
	}
	var s strings.Builder
	prefix := fmt.Sprintf("blk.%d/", b.num)
	for _, n := range b.nodes {
		fmt.Fprintf(&s, "%s %s %T%+v (", strings.TrimPrefix(n.Name, prefix), opLabel(n.Op), n.Op, n.Op)
		for _, in := range n.Inputs {
			if p := in.Producer; p != nil && of[p] == b {
				fmt.Fprintf(&s, " %d:%d", at[p], in.Index)
			} else {
				fmt.Fprintf(&s, " %s %s%s", in.Kind, in.Type, in.Shape)
			}
		}
		s.WriteString(" ) →")
		for _, out := range n.Outputs {
			fmt.Fprintf(&s, " %s%s", out.Type, out.Shape)
		}
		s.WriteByte('\n')
	}
	return s.String()
}

// opLabel is the op's label (with its variant) for table ops, its name
// otherwise.
func opLabel(op graph.Op) string {
	if o, ok := op.(ops.Op); ok {
		return o.Label()
	}
	return op.Name()
}
