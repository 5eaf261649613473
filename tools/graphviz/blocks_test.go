package graphviz

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBlockNum(t *testing.T) {
	for name, want := range map[string]int{
		"blk.0/attn_q":             0,
		"blk.31/ffn_down":          31,
		"blk.2/attn_output/matmul": 2, // decomposed fused ops stay in their block
		"blk.3":                    -1,
		"blk.03/attn_q":            -1, // not how builders name blocks
		"blk.-1/x":                 -1,
		"blk.x/y":                  -1,
		"output_norm":              -1,
		"myblk.1/x":                -1,
	} {
		assert.Equal(t, want, blockNum(name), name)
	}
}
