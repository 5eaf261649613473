package metalrt

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// Launch is how one dispatch is encoded: dispatchThreadgroups with
// Threadgroups × Threads, ThreadgroupMemory bytes at threadgroup index 0,
// and the contract's parameter struct set with setBytes at ParamsIndex.
type Launch struct {
	Threadgroups, Threads [3]int
	ThreadgroupMemory     int
	ParamsIndex           int
}

// Split is a dispatch that runs as two kernels: its own, which leaves
// partial results in Scratch bytes of the program's scratch buffer (bound
// at the parameters' index + 1), then Kernel, right after it and behind a
// barrier, with the bindings, parameters and scratch the first left bound,
// to combine them. Attention decode is one (flash-decoding).
type Split struct {
	Scratch               int
	Kernel                string
	Threadgroups, Threads [3]int
}

// attnReduceKernel combines attention decode's chunks; no plan contract
// names it, since the split is the Metal runtime's own.
const attnReduceKernel = "attn_decode_reduce"

// The shapes below are what the MSL kernels assume; kernels/common.metal
// holds the same constants.
const (
	matvecThreads        = 256 // 8 simdgroups of matvecShape's rows, both mat-vec variants
	mtmatvecMaxN         = 8   // tokens one multi-token mat-vec threadgroup holds
	matmulThreads        = 128 // 4 simdgroups
	matmulRows           = 64  // weight rows per tile
	matmulTokens         = 32  // tokens per tile
	matmulK              = 32  // columns per step through the tile loop
	eltThreads           = 256 // embed, kv_write, swiglu, add
	attnMaxHeadDim       = 256 // decode lanes keep HeadDim/32 ≤ 8 accumulators, prefill 32 slices of 8
	attnDecodeSimdgroups = 4
	attnGroup            = 4   // query heads per decode threadgroup
	attnDecodeMaxN       = 8   // tokens per decode step: a verification step's (passes.AttnDecodeMax)
	attnDecodeStage      = 16  // cache rows per staged decode block
	attnChunk            = 128 // fewest cache rows per decode chunk
	attnMaxChunks        = 32  // most decode chunks per query head and token
	maxThreads           = 1024
	maxThreadgroupMemory = 32 << 10 // bytes of threadgroup memory Apple GPUs give one threadgroup
)

// attn_prefill's tiles (kernels/attention.metal).
const (
	attnPrefillSimdgroups = 4
	attnPrefillRows       = 32    // query rows (token, head of a GQA group) per threadgroup, 8 per simdgroup
	attnPrefillBlock      = 32    // most cache rows per block
	attnPrefillTile       = 12288 // bytes of a block of K (as many for V)
)

// PipelineKey is the MSL function (host) name of the pipeline a dispatch
// binds: its contract's name, and for a multi-token mat-vec or attention
// decode of N tokens that name with "_n" and N (mtmatvec_q4_0_acc_n5,
// attn_decode_f16_n1), an instance compiled for N alone, so its registers
// hold N tokens' accumulators, not the 8 the kernel serves at most. Call it
// on dispatches Geometry accepts.
func PipelineKey(d *plan.Dispatch) string {
	if n, ok := instanceTokens(d); ok {
		return tokensKey(d.Kernel, n)
	}
	return d.Kernel
}

// tokensKey is the pipeline of a multi-token mat-vec or attention decode
// contract for n tokens.
func tokensKey(kernel string, n int32) string { return fmt.Sprintf("%s_n%d", kernel, n) }

// instanceTokens is the tokens of a multi-token mat-vec or attention
// decode dispatch; false for any other dispatch.
func instanceTokens(d *plan.Dispatch) (int32, bool) {
	c, err := plan.Lookup(d.Kernel)
	if variant, _, _ := strings.Cut(c.Family, "@"); err != nil || (variant != "mtmatvec" && variant != "attn_decode") {
		return 0, false
	}
	switch p := d.Params.(type) {
	case plan.MatParams:
		return p.N, true
	case plan.QKVParams:
		return p.N, true
	case plan.AttnParams:
		return p.N, true
	}
	return 0, false
}

// Geometry maps a dispatch to its launch shape from its contract family,
// parameters and grid, as metal-geometry conventions fix them. It refuses
// unknown contracts, parameters of the wrong type, sizes the kernels cannot
// handle and grids that disagree with the parameters.
func Geometry(d *plan.Dispatch) (Launch, error) {
	if d == nil {
		return Launch{}, fmt.Errorf("metalrt: geometry of a nil dispatch")
	}
	c, err := plan.Lookup(d.Kernel)
	if err != nil {
		return Launch{}, fmt.Errorf("metalrt: %w", err)
	}
	l, err := geometry(c, d)
	if err != nil {
		return Launch{}, fmt.Errorf("metalrt: %s (%s): %w", d.Kernel, d.Node, err)
	}
	l.ParamsIndex = len(c.Roles)
	if err := l.check(); err != nil {
		return Launch{}, fmt.Errorf("metalrt: %s (%s): %w", d.Kernel, d.Node, err)
	}
	return l, nil
}

func geometry(c plan.Contract, d *plan.Dispatch) (Launch, error) {
	switch c.Family {
	case "embed":
		p, err := params[plan.EmbedParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(positive("dim", p.Dim), positive("vocab", p.Vocab), positive("n", p.N),
			multiple("dim", p.Dim, c.Weight), grid(d, p.Dim, p.N)); err != nil {
			return Launch{}, err
		}
		return flat(ceil(p.Dim, eltThreads), int(p.N), eltThreads), nil
	case "rmsnorm":
		p, err := params[plan.NormParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(positive("dim", p.Dim), positive("n", p.N), grid(d, p.N)); err != nil {
			return Launch{}, err
		}
		t := min(maxThreads, max(32, pow2(ceil(p.Dim, 4))))
		// One float per simdgroup for the cross-simdgroup sum.
		return Launch{Threadgroups: [3]int{int(p.N), 1, 1}, Threads: [3]int{t, 1, 1}, ThreadgroupMemory: 32 * 4}, nil
	case "rope":
		p, err := params[plan.RopeParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(ropeDims(p.Heads, p.HeadDim, p.Dims), positive("n", p.N), grid(d, p.Heads, p.N)); err != nil {
			return Launch{}, err
		}
		return flat(int(p.Heads), int(p.N), min(maxThreads, roundUp(int(p.Dims)/2, 32))), nil
	case "kv_write":
		p, err := params[plan.KVParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(positive("width", p.Width), positive("n", p.N), positive("capacity", p.Capacity),
			fits(p.N, p.Capacity), grid(d, p.Width, p.N)); err != nil {
			return Launch{}, err
		}
		return flat(ceil(p.Width, eltThreads), int(p.N), eltThreads), nil
	case "rope_kv_write":
		p, err := params[plan.RopeKVParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(ropeDims(p.Heads, p.HeadDim, p.Dims), heads(p.Heads, p.KVHeads), positive("n", p.N),
			positive("capacity", p.Capacity), fits(p.N, p.Capacity), grid(d, p.Heads, p.N)); err != nil {
			return Launch{}, err
		}
		return flat(int(p.Heads), int(p.N), min(maxThreads, max(32, roundUp(int(p.HeadDim)/2, 32)))), nil
	case "attn_decode", "attn_prefill":
		p, err := params[plan.AttnParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(heads(p.Heads, p.KVHeads), positive("head_dim", p.HeadDim), positive("n", p.N),
			positive("capacity", p.Capacity), fits(p.N, p.Capacity), grid(d, p.Heads, p.N)); err != nil {
			return Launch{}, err
		}
		if p.HeadDim > attnMaxHeadDim {
			return Launch{}, fmt.Errorf("head_dim %d exceeds the %d the attention kernels hold", p.HeadDim, attnMaxHeadDim)
		}
		if p.Window < 0 {
			return Launch{}, fmt.Errorf("window %d is negative", p.Window)
		}
		if err := cacheAligned(c, d, p.HeadDim); err != nil {
			return Launch{}, err
		}
		if c.Family == "attn_decode" {
			if p.N > attnDecodeMaxN {
				return Launch{}, fmt.Errorf("n %d exceeds the %d tokens attention decode serves", p.N, attnDecodeMaxN)
			}
			return attnDecodeLaunch(p, c.Cache.BlockBytes()), nil
		}
		return attnPrefillLaunch(p, c.Cache.BlockBytes()), nil
	case "swiglu", "add":
		p, err := params[plan.EltParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(positive("count", p.Count), grid(d, p.Count)); err != nil {
			return Launch{}, err
		}
		return flat(ceil(p.Count, eltThreads), 1, eltThreads), nil
	}
	return matGeometry(c, d)
}

// attnDecodeLaunch splits the rows a step's tokens see into up to
// attnMaxChunks chunks of at least attnChunk rows (flash-decoding), one
// threadgroup per chunk, KV head and block of attnGroup query heads
// sharing it, for all N tokens, so that each K/V row is read once per
// step. The chunk floor keeps short contexts in one chunk: its threadgroup
// writes the output and the other chunks' leave at once. The cap, 32
// chunks, gives Mistral-7B (8 KV heads, GQA 4:1) 256 threadgroups of 128
// rows at a 4K context (a few per core of an M-series GPU); longer
// contexts lengthen the chunks rather than add partials for the reduction
// to read. Threadgroup memory holds a staged block of attnDecodeStage K
// rows and as many V rows, elem bytes an element.
func attnDecodeLaunch(p plan.AttnParams, elem int) Launch {
	l := flat(attnParts(p), int(p.KVHeads)*ceil(p.Heads/p.KVHeads, attnGroup), 32*attnDecodeSimdgroups)
	l.ThreadgroupMemory = 2 * attnDecodeStage * int(p.HeadDim) * elem
	return l
}

// attnPrefillLaunch gives each KV head's query rows, the N tokens × its
// group of query heads, token major, one threadgroup per attnPrefillRows,
// so that a tile's K and V blocks are loaded once for all its rows.
// Threadgroup memory holds a block of kc cache rows of K and of V (head_dim
// padded to a multiple of 8, elem bytes each), then per simdgroup its
// scores [8][kc], an 8×8 diagonal and a float per lane.
func attnPrefillLaunch(p plan.AttnParams, elem int) Launch {
	hdp := roundUp(int(p.HeadDim), 8)
	kc := attnPrefillRowsPerBlock(hdp, elem)
	l := flat(ceil(p.N*(p.Heads/p.KVHeads), attnPrefillRows), int(p.KVHeads), 32*attnPrefillSimdgroups)
	l.ThreadgroupMemory = 2*kc*hdp*elem + attnPrefillSimdgroups*(8*kc+96)*4
	return l
}

// attnPrefillRowsPerBlock is the kernel's attn_prefill_block: the cache
// rows a tile of attnPrefillTile bytes holds, a multiple of 8, at most
// attnPrefillBlock.
func attnPrefillRowsPerBlock(hdp, elem int) int {
	return min(attnPrefillBlock, attnPrefillTile/(hdp*elem)/8*8)
}

func attnParts(p plan.AttnParams) int { return min(ceil(p.Capacity, attnChunk), attnMaxChunks) }

// SplitOf is how a dispatch that Geometry accepts splits, nil when it runs
// as one kernel. Attention decode's chunks leave their (max, sum) and
// head_dim partial outputs per token and query head in the scratch
// buffer; one simdgroup per query head and token combines them.
func SplitOf(d *plan.Dispatch) *Split {
	c, err := plan.Lookup(d.Kernel)
	p, ok := d.Params.(plan.AttnParams)
	if err != nil || !ok || c.Family != "attn_decode" {
		return nil
	}
	n, heads := int(p.N), int(p.Heads)
	return &Split{Scratch: n * heads * attnParts(p) * (int(p.HeadDim) + 2) * 4, Kernel: attnReduceKernel,
		Threadgroups: [3]int{heads, n, 1}, Threads: [3]int{32, 1, 1}}
}

// matGeometry covers the mat-vec, multi-token mat-vec and tiled families in
// their plain, _acc, _qkv and _gate_up forms.
func matGeometry(c plan.Contract, d *plan.Dispatch) (Launch, error) {
	variant, form, _ := strings.Cut(c.Family, "@")
	var rows, cols, n int32
	if form == "qkv" {
		p, err := params[plan.QKVParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := first(positive("rows_q", p.RowsQ), positive("rows_kv", p.RowsKV)); err != nil {
			return Launch{}, err
		}
		rows, cols, n = p.RowsQ+2*p.RowsKV, p.Cols, p.N
	} else {
		p, err := params[plan.MatParams](d)
		if err != nil {
			return Launch{}, err
		}
		if err := positive("rows", p.Rows); err != nil {
			return Launch{}, err
		}
		rows, cols, n = p.Rows, p.Cols, p.N
	}
	if err := first(positive("cols", cols), positive("n", n), multiple("cols", cols, c.Weight), grid(d, rows, n)); err != nil {
		return Launch{}, err
	}
	switch variant {
	case "matvec":
		if err := weightsAligned(c, d); err != nil {
			return Launch{}, err
		}
		s := matvecShape(c.Weight, 1)
		l := flat(ceil(rows, s.outputs(form)), int(n), matvecThreads)
		l.ThreadgroupMemory = s.memory
		return l, nil
	case "mtmatvec":
		if n > mtmatvecMaxN {
			return Launch{}, fmt.Errorf("%d tokens: the multi-token mat-vec holds at most %d", n, mtmatvecMaxN)
		}
		if err := weightsAligned(c, d); err != nil {
			return Launch{}, err
		}
		s := matvecShape(c.Weight, int(n))
		l := flat(ceil(rows, s.outputs(form)), 1, matvecThreads)
		l.ThreadgroupMemory = s.memory
		return l, nil
	case "matmul":
		l := flat(ceil(rows, matmulRows), ceil(n, matmulTokens), matmulThreads)
		l.ThreadgroupMemory = matmulMemory(c.Weight)
		return l, nil
	}
	return Launch{}, fmt.Errorf("family %q has no Metal geometry", c.Family)
}

// matvecDecoders are the mat-vec tile columns and weight rows per
// simdgroup of each weight type (mv_cols and mv_rows of its decoder in
// kernels/common.metal): tiles of whole 32-byte sectors where threadgroup
// memory allows, and rows enough that the activations a threadgroup reads
// stay under a tenth of its weight bytes.
var matvecDecoders = map[quant.Type]struct{ cols, rows int }{
	quant.F32: {64, 10}, quant.F16: {128, 10}, quant.BF16: {128, 10},
	quant.Q4_0: {512, 10}, quant.Q8_0: {512, 6}, quant.Q4_K: {512, 10}, quant.Q5_K: {512, 10}, quant.Q6_K: {512, 8},
}

// mvShape is how a mat-vec of some weight type and tokens launches.
type mvShape struct {
	rows   int // weight rows per simdgroup
	memory int // threadgroup memory: the tokens' activation tiles, then each simdgroup's rows of the tile
}

// matvecShape is MvShape in kernels/matvec.metal: the decoder's rows, or
// as many (even) as the tokens' activation tiles leave memory for.
func matvecShape(w quant.Type, tokens int) mvShape {
	d := matvecDecoders[w]
	seg := d.cols / w.BlockSize() * w.BlockBytes()
	sg := matvecThreads / 32
	rows := min(d.rows, (maxThreadgroupMemory-tokens*d.cols*4)/(sg*seg)/2*2)
	return mvShape{rows: rows, memory: roundUp(tokens*d.cols*4+sg*rows*seg, 16)}
}

// outputs is the rows of y a threadgroup computes: the gate_up form's
// simdgroups take a gate and an up row per output.
func (s mvShape) outputs(form string) int {
	if form == "gate_up" {
		return matvecThreads / 32 * s.rows / 2
	}
	return matvecThreads / 32 * s.rows
}

// weightsAligned checks that the weight bindings of a mat-vec start on the
// 4-byte boundary its word loads need (GGUF aligns tensors to 32).
func weightsAligned(c plan.Contract, d *plan.Dispatch) error {
	for i, b := range d.Bindings[:min(len(d.Bindings), len(c.Roles))] {
		if b.Buffer == plan.Weights && b.Offset%4 != 0 {
			return fmt.Errorf("%s (binding %d) starts at byte %d of the weights, not on the 4-byte boundary its loads need",
				c.Roles[i].Name, i, b.Offset)
		}
	}
	return nil
}

// matmulMemory is the tiled kernel's threadgroup memory: a weight tile of
// 32 columns × 64 rows (half, or float for F32 and BF16 weights, which half
// would round) and a float activation tile of 32 tokens × 32 columns; the
// 32 × 64 float output staging reuses the same bytes. The gate_up form runs
// the tile loop twice, once per weight, in the same memory.
func matmulMemory(w quant.Type) int {
	elem := 2
	if w == quant.F32 || w == quant.BF16 {
		elem = 4
	}
	return max(matmulK*matmulRows*elem+matmulTokens*matmulK*4, matmulTokens*matmulRows*4)
}

// check enforces the limits every Apple GPU shares.
func (l Launch) check() error {
	t := l.Threads[0] * l.Threads[1] * l.Threads[2]
	if t <= 0 || t > maxThreads || t%32 != 0 {
		return fmt.Errorf("%d threads per threadgroup: want a multiple of 32 up to %d", t, maxThreads)
	}
	for _, g := range l.Threadgroups {
		if g <= 0 {
			return fmt.Errorf("threadgroups %v: every dimension must be positive", l.Threadgroups)
		}
	}
	if l.ThreadgroupMemory < 0 || l.ThreadgroupMemory > maxThreadgroupMemory || l.ThreadgroupMemory%16 != 0 {
		return fmt.Errorf("%d bytes of threadgroup memory: want a multiple of 16 up to %d", l.ThreadgroupMemory, maxThreadgroupMemory)
	}
	return nil
}

func params[P plan.Params](d *plan.Dispatch) (P, error) {
	p, ok := d.Params.(P)
	if !ok {
		var want P
		return want, fmt.Errorf("parameters are %T, the contract wants %T", d.Params, want)
	}
	return p, nil
}

// grid checks that the dispatch's grid counts what its parameters say.
func grid(d *plan.Dispatch, dims ...int32) error {
	want := plan.Grid{1, 1, 1}
	for i, v := range dims {
		want[i] = int(v)
	}
	if d.Grid != want {
		return fmt.Errorf("grid %v disagrees with the parameters, which give %v", d.Grid, want)
	}
	return nil
}

func positive(name string, v int32) error {
	if v <= 0 {
		return fmt.Errorf("%s is %d, must be positive", name, v)
	}
	return nil
}

// multiple checks that rows of a quantised weight hold whole blocks.
func multiple(name string, v int32, t quant.Type) error {
	if bs := t.BlockSize(); bs > 1 && int(v)%bs != 0 {
		return fmt.Errorf("%s %d is not a multiple of the %s block size %d", name, v, t, bs)
	}
	return nil
}

func fits(n, capacity int32) error {
	if n > capacity {
		return fmt.Errorf("%d tokens exceed the %d-position cache", n, capacity)
	}
	return nil
}

func heads(h, kv int32) error {
	if err := first(positive("heads", h), positive("kv_heads", kv)); err != nil {
		return err
	}
	if h%kv != 0 {
		return fmt.Errorf("%d heads are not a multiple of %d kv heads", h, kv)
	}
	return nil
}

func ropeDims(heads, headDim, dims int32) error {
	if err := first(positive("heads", heads), positive("head_dim", headDim), positive("dims", dims)); err != nil {
		return err
	}
	if dims > headDim || dims%2 != 0 {
		return fmt.Errorf("%d rotated dims: must be even and at most head_dim %d", dims, headDim)
	}
	return nil
}

// cacheAligned checks that the cache bindings of an attention dispatch
// start where its kernels' 4-element vector loads may read: with head_dim
// a multiple of 4 they load K rows as float4 or half4, which Metal
// requires aligned to 16 or 8 bytes.
func cacheAligned(c plan.Contract, d *plan.Dispatch, headDim int32) error {
	if headDim%4 != 0 {
		return nil // scalar loads
	}
	align := int64(4 * c.Cache.BlockBytes())
	for i, b := range d.Bindings[:min(len(d.Bindings), len(c.Roles))] {
		if b.Buffer == plan.KV && b.Offset%align != 0 {
			return fmt.Errorf("%s (binding %d) starts at byte %d of the KV cache, not on the %d-byte boundary its vector loads need",
				c.Roles[i].Name, i, b.Offset, align)
		}
	}
	return nil
}

func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func flat(gx, gy, threads int) Launch {
	return Launch{Threadgroups: [3]int{gx, gy, 1}, Threads: [3]int{threads, 1, 1}}
}

func ceil(v int32, by int) int { return (int(v) + by - 1) / by }

func roundUp(v, to int) int { return (v + to - 1) / to * to }

func pow2(v int) int {
	p := 1
	for p < v {
		p <<= 1
	}
	return p
}
