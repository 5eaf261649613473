package cudart

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/metalrt"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// Launch is how one dispatch is launched: Grid blocks of Block threads
// with Shared bytes of dynamic shared memory.
type Launch struct {
	Grid, Block [3]int
	Shared      int
}

// The shapes the CUDA kernels assume; kernels/common.cuh holds the same
// numbers (contract_test.go compares them).
const (
	mvWarps        = 4
	mvRowsPerWarp  = 2
	mvRows         = mvWarps * mvRowsPerWarp
	mvThreads      = mvWarps * 32
	mvqWarps       = 8 // the int8 mat-vec of Q4_0 and Q8_0 (kernels/int8dot.cu)
	mvqRowsPerWarp = 2
	mvqRows        = mvqWarps * mvqRowsPerWarp
	mvqThreads     = mvqWarps * 32
	mvqTileBlocks  = 256 // 32-column blocks of activations it quantises into shared memory at a time
	mmqWarps       = 8   // the tensor-core matmul of Q6_K (kernels/mmq.cu), 16 rows a warp
	mmqRows        = mmqWarps * 16
	mmqThreads     = mmqWarps * 32
	mmqTokens      = 32
	mmqtRows       = 128 // the staged tensor-core matmuls (kernels/mmforms.cu), mmqThreads a block
	mmqtTokens     = 64
	mtTokens       = 8
	attnWarps      = 8
	faWarps        = 4  // prefill attention (kernels/flash.cu), 16 queries a warp
	faKV           = 32 // cache rows it stages at a time
	attnThreads    = attnWarps * 32
	eltThreads     = 256
	maxBlockThread = 1024
	maxGridY       = 65535
	maxGridZ       = 65535
	maxShared      = 48 << 10 // dynamic shared memory without an opt-in
)

// Geometry maps a dispatch to its launch. The parameters are validated
// as for the Metal runtime, whose kernels have the same limits (whole
// blocks per quantised row, head_dim ≤ 256, at most 8 tokens per
// multi-token mat-vec, grids that agree with the parameters).
func Geometry(d *plan.Dispatch) (Launch, error) {
	if d == nil {
		return Launch{}, fmt.Errorf("cudart: geometry of a nil dispatch")
	}
	if _, err := metalrt.Geometry(d); err != nil {
		return Launch{}, fmt.Errorf("cudart: %s", strings.TrimPrefix(err.Error(), "metalrt: "))
	}
	c, _ := plan.Lookup(d.Kernel) // metalrt.Geometry looked it up
	l := geometry(c, d)
	if err := l.check(); err != nil {
		return Launch{}, fmt.Errorf("cudart: %s (%s): %w", d.Kernel, d.Node, err)
	}
	return l, nil
}

func geometry(c plan.Contract, d *plan.Dispatch) Launch {
	switch p := d.Params.(type) {
	case plan.EmbedParams:
		return flat(ceil(p.Dim, eltThreads), int(p.N), eltThreads)
	case plan.NormParams:
		return flat(int(p.N), 1, min(maxBlockThread, roundUp(ceil(p.Dim, 4), 32)))
	case plan.RopeParams:
		return flat(int(p.Heads), int(p.N), min(maxBlockThread, max(32, roundUp(int(p.Dims)/2, 32))))
	case plan.KVParams:
		return flat(ceil(p.Width, eltThreads), int(p.N), eltThreads)
	case plan.RopeKVParams:
		return flat(int(p.Heads), int(p.N), min(maxBlockThread, max(32, roundUp(int(p.HeadDim)/2, 32))))
	case plan.AttnParams:
		if c.Family == "attn_decode" {
			// Per warp: running max, running sum and head_dim accumulators;
			// the query is staged in the same memory first.
			l := flat(int(p.Heads), int(p.N), attnThreads)
			l.Grid[2] = attnSplits(p)
			l.Shared = attnWarps * (int(p.HeadDim) + 2) * 4
			return l
		}
		// FA_KV K rows and head_dim V columns of halves, each padded by 8
		// (flash.cu's fa_row and FA_VT_ROW).
		hdp := roundUp(int(p.HeadDim), 16)
		l := flat(int(p.Heads), ceil(p.N, faWarps*16), faWarps*32)
		l.Shared = (faKV*(hdp+8) + hdp*(faKV+8)) * 2
		return l
	case plan.EltParams:
		return flat(ceil(p.Count, eltThreads), 1, eltThreads)
	}
	rows, n := matShape(d.Params)
	switch variant, _, _ := strings.Cut(c.Family, "@"); variant {
	case "matvec":
		if int8Dot(c.Weight) {
			return flat(ceil(rows, mvqRows), int(n), mvqThreads)
		}
		return flat(ceil(rows, mvRows), int(n), mvThreads)
	case "mtmatvec":
		return flat(ceil(rows, mvRows), ceil(n, mtTokens), mvThreads)
	}
	// matmul, on the tensor cores: token groups fastest, so blocks sharing
	// weight rows run together. Q6_K's fragments come from the weights
	// (kernels/mmq.cu); every other type's are staged in mmforms.cu's
	// blocks (int8 tiles of Q4_0 and Q8_0, half tiles of F16, BF16, Q4_K
	// and Q5_K, TF32 tiles of F32).
	if c.Weight == quant.Q6_K {
		return flat(ceil(n, mmqTokens), ceil(rows, mmqRows), mmqThreads)
	}
	rowsPerBlock := mmqtRows
	if strings.HasSuffix(c.Family, "@gate_up") {
		rowsPerBlock /= 2 // the block stages as many rows of each matrix
	}
	return flat(ceil(n, mmqtTokens), ceil(rows, rowsPerBlock), mmqThreads)
}

// int8Dot reports whether weights of type t meet int8 activations: in
// the matvec variant (kernels/int8dot.cu) and on the tensor cores in the
// matmul variant (kernels/mmqtile.cu; Q6_K's in kernels/mmq.cu).
func int8Dot(t quant.Type) bool { return t == quant.Q4_0 || t == quant.Q8_0 }

// matShape is the output rows (all three projections for qkv) and tokens
// of a mat-vec dispatch.
func matShape(p plan.Params) (rows, n int32) {
	if q, ok := p.(plan.QKVParams); ok {
		return q.RowsQ + 2*q.RowsKV, q.N
	}
	m := p.(plan.MatParams)
	return m.Rows, m.N
}

// Split-K decoding: attn_decode's blocks each take one split of a (head,
// token)'s visible rows (grid z), so that a decode step of few heads still
// fills the GPU at long contexts. The split count is fixed per dispatch,
// since a step is captured once as a CUDA graph while kv_len grows.
const (
	// attnSplitBlocks is the block count splitting aims for: about four
	// per SM of an H200 (132 SMs). At 127 registers a thread (ptxas,
	// sm_90) two 8-warp blocks fit an SM, so that is two waves.
	attnSplitBlocks = 512
	// attnSplitMinRows is the fewest rows a split gets at full capacity
	// (8 blocks of ATTN_ROWS per warp): shorter splits would cost more in
	// partials and the reduce launch than they save.
	attnSplitMinRows = 512
)

// attnSplits is attn_decode's split count S: enough splits for
// heads·n·S to reach attnSplitBlocks, but none shorter than
// attnSplitMinRows rows of a full cache. S = 1 (e.g. at 32 heads and
// capacity < 1024) is a single launch that writes out directly.
func attnSplits(p plan.AttnParams) int {
	perSplit := int(p.Heads) * int(p.N)
	want := (attnSplitBlocks + perSplit - 1) / perSplit
	return max(1, min(want, int(p.Capacity)/attnSplitMinRows))
}

// check enforces the launch limits of NVIDIA GPUs the kernels rely on.
func (l Launch) check() error {
	t := l.Block[0] * l.Block[1] * l.Block[2]
	if t <= 0 || t > maxBlockThread || t%32 != 0 {
		return fmt.Errorf("%d threads per block: want a multiple of 32 up to %d", t, maxBlockThread)
	}
	if l.Grid[0] <= 0 || l.Grid[1] <= 0 || l.Grid[1] > maxGridY || l.Grid[2] <= 0 || l.Grid[2] > maxGridZ {
		return fmt.Errorf("grid %v: want positive x, y up to %d, z up to %d", l.Grid, maxGridY, maxGridZ)
	}
	if l.Shared < 0 || l.Shared > maxShared {
		return fmt.Errorf("%d bytes of shared memory: at most %d", l.Shared, maxShared)
	}
	return nil
}

func flat(gx, gy, threads int) Launch {
	return Launch{Grid: [3]int{gx, gy, 1}, Block: [3]int{threads, 1, 1}}
}

func ceil(v int32, by int) int { return (int(v) + by - 1) / by }

func roundUp(v, to int) int { return (v + to - 1) / to * to }
