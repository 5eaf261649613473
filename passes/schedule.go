package passes

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

const (
	// firstCommandBufferDispatches sizes the first command buffer: a
	// runtime commits it, and the GPU starts, while the rest is encoded,
	// so it must run long enough to hide the next buffer's encoding. 8
	// (the embedding and most of one block, ~0.35 ms of GPU work on a 7B
	// Q4_0 model at 273 GB/s) was too short for an encoder costing µs per
	// dispatch. llama.cpp's Metal backend commits 128 graph nodes first:
	// four Llama blocks of 32 nodes (views and reshapes included), which
	// here are four Mistral blocks of 8 dispatches, ~1.8 ms of GPU work.
	firstCommandBufferDispatches = 32
	// maxCommandBufferDispatches bounds the other command buffers. Like
	// llama.cpp's Metal backend, which encodes one graph into several
	// command buffers from parallel threads (a short first range, the rest
	// split evenly), bounded buffers let a runtime encode them concurrently
	// and submit each as soon as it is ready.
	maxCommandBufferDispatches = 128
)

// stepBytes is the size of the Step buffer: one StepParams.
var stepBytes = int64(len(plan.Encode(plan.StepParams{})))

// Schedule emits the plan from the graph and the memory plan: one dispatch
// per node in topological order, named by contract (op, variant, weight or
// cache type), with the contract's bindings, parameters and grid. Inside a
// command buffer a dispatch waits at a barrier only if it touches bytes a
// dispatch since the last barrier wrote, or writes bytes one read, so
// independent dispatches (the unfused Q, K and V mat-vecs) run
// concurrently. Dispatches are grouped into a small first command buffer
// and a few bounded ones.
var Schedule = Pass{
	Name: "schedule",
	Doc:  "emit the plan: a dispatch per node, barriers only on hazards, command buffers",
	Run: func(s *State) error {
		p, err := schedule(s.Graph, s.Memory, s.Target)
		if err != nil {
			return err
		}
		s.Plan = p
		return nil
	},
}

func schedule(g *graph.Graph, m *Memory, t Target) (*plan.Plan, error) {
	if m == nil {
		return nil, errors.New("no memory plan: plan_memory must run before schedule")
	}
	for _, v := range g.Values {
		if int64(v.Shape.Elements()) > math.MaxInt32 {
			return nil, fmt.Errorf("value %s%s has more elements than kernel parameters (int32) can count", v.Name, v.Shape)
		}
	}
	if len(g.Outputs) != 1 {
		return nil, fmt.Errorf("the plan has one logits buffer; the graph has %d outputs", len(g.Outputs))
	}
	out := g.Outputs[0]
	if out.Type != quant.F32 || len(out.Shape) != 2 || out.Shape[0] != g.N {
		return nil, fmt.Errorf("output %s is %s%s; the logits must be F32 [%d, vocab]", out.Name, out.Type, out.Shape, g.N)
	}
	order, err := g.Topo()
	if err != nil {
		return nil, err
	}
	p := &plan.Plan{Name: g.Name, N: g.N, Vocab: out.Shape[1], KV: slices.Clone(m.KV)}
	var kv int64
	for _, l := range m.KV {
		kv = max(kv, l.Offset+l.Length)
	}
	sizes := [...]int64{
		plan.Step:    stepBytes,
		plan.Tokens:  4 * int64(g.N),
		plan.Weights: t.WeightsSize,
		plan.KV:      kv,
		plan.Arena:   m.Arena,
		plan.Logits:  out.Bytes(),
	}
	for k, size := range sizes {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	var ds []plan.Dispatch
	for _, n := range order {
		d, err := dispatchFor(n, m)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
		ds = append(ds, d)
	}
	p.Commands = commandBuffers(ds)
	for i := range p.Commands {
		placeBarriers(&p.Commands[i])
	}
	return p, nil
}

// call is a kernel launch before binding: values in role order (reads,
// then writes; a nil read is the Step buffer).
type call struct {
	family string
	typ    quant.Type // weight or cache type of typed families
	reads  []*graph.Value
	writes []*graph.Value
	params plan.Params
	grid   plan.Grid
}

func dispatchFor(n *graph.Node, m *Memory) (plan.Dispatch, error) {
	c, err := callFor(n)
	if err != nil {
		return plan.Dispatch{}, err
	}
	d := plan.Dispatch{Kernel: plan.Name(c.family, c.typ), Node: n.Name, Params: c.params, Grid: c.grid}
	if _, err := plan.Lookup(d.Kernel); err != nil {
		return plan.Dispatch{}, err
	}
	for i, vs := range [][]*graph.Value{c.reads, c.writes} {
		for _, v := range vs {
			if v == nil {
				d.Bindings = append(d.Bindings, plan.Binding{Buffer: plan.Step, Length: stepBytes, Value: "step"})
				continue
			}
			loc, ok := m.Loc[v]
			if !ok {
				return plan.Dispatch{}, fmt.Errorf("value %s has no location (did a pass change the graph after plan_memory?)", v.Name)
			}
			d.Bindings = append(d.Bindings, plan.Binding{Buffer: loc.Buffer, Offset: loc.Offset, Length: v.Bytes(), Write: i == 1, Value: v.Name})
		}
	}
	return d, nil
}

// callFor maps an op to its contract family, bindings, parameters and grid
// (plan/contract.go says what each grid counts).
func callFor(n *graph.Node) (call, error) {
	in, out := n.Inputs, n.Outputs
	i32 := func(x int) int32 { return int32(x) } // bounded by schedule's element check
	rows := func(v *graph.Value) int32 { return i32(v.Shape[0]) }
	cols := func(v *graph.Value) int32 { return i32(v.Shape.Last()) }
	switch op := n.Op.(type) {
	case ops.EmbedOp:
		p := plan.EmbedParams{Dim: cols(in[0]), Vocab: rows(in[0]), N: rows(in[1])}
		return call{"embed", in[0].Type, in, out, p, plan.Grid{int(p.Dim), int(p.N), 1}}, nil
	case ops.RMSNormOp:
		p := plan.NormParams{Dim: cols(in[0]), N: rows(in[0]), Eps: op.Eps}
		return call{"rmsnorm", 0, in, out, p, plan.Grid{int(p.N), 1, 1}}, nil
	case ops.MatMulOp:
		return matCall("", op.Variant, in[0], in, out)
	case ops.MatMulAddOp:
		return matCall("@acc", op.Variant, in[0], in, out)
	case ops.GateUpOp:
		return matCall("@gate_up", op.Variant, in[0], in, out)
	case ops.QKVOp:
		if !in[1].Shape.Equal(in[2].Shape) {
			return call{}, fmt.Errorf("the qkv contract needs K and V weights of one shape; %s is %s, %s is %s", in[1].Name, in[1].Shape, in[2].Name, in[2].Shape)
		}
		fam, err := matFamily(op.Variant)
		if err != nil {
			return call{}, err
		}
		p := plan.QKVParams{RowsQ: rows(in[0]), RowsKV: rows(in[1]), Cols: cols(in[3]), N: rows(in[3])}
		return call{fam + "@qkv", in[0].Type, in, out, p, plan.Grid{int(p.RowsQ + 2*p.RowsKV), int(p.N), 1}}, nil
	case ops.RopeOp:
		p := plan.RopeParams{Heads: i32(op.Heads), HeadDim: i32(op.HeadDim), Dims: i32(op.Dims), N: rows(in[0]), Base: op.Base, FreqScale: op.FreqScale}
		return call{"rope", 0, []*graph.Value{nil, in[0]}, out, p, plan.Grid{op.Heads, int(p.N), 1}}, nil
	case ops.KVWriteOp:
		kc, vc, k, v := in[0], in[1], in[2], in[3]
		p := plan.KVParams{Width: cols(k), N: rows(k), Capacity: rows(kc)}
		// The caches are written in place: bind the state they alias.
		return call{"kv_write", kc.Type, []*graph.Value{nil, k, v}, []*graph.Value{kc, vc}, p, plan.Grid{int(p.Width), int(p.N), 1}}, nil
	case ops.RopeKVWriteOp:
		q, k, v, kc, vc := in[0], in[1], in[2], in[3], in[4]
		r := op.Rope
		p := plan.RopeKVParams{Heads: i32(r.Heads), KVHeads: cols(k) / i32(r.HeadDim), HeadDim: i32(r.HeadDim), Dims: i32(r.Dims),
			N: rows(q), Capacity: rows(kc), Base: r.Base, FreqScale: r.FreqScale}
		return call{"rope_kv_write", kc.Type, []*graph.Value{nil, q, k, v}, []*graph.Value{out[0], kc, vc}, p, plan.Grid{r.Heads, int(p.N), 1}}, nil
	case ops.AttentionOp:
		fam, err := attnFamily(op.Variant, in[0].Shape[0])
		if err != nil {
			return call{}, err
		}
		p := plan.AttnParams{Heads: i32(op.Heads), KVHeads: i32(op.KVHeads), HeadDim: i32(op.HeadDim), N: rows(in[0]),
			Capacity: rows(in[1]), Window: i32(op.Window), Scale: op.Scale}
		return call{fam, in[1].Type, append([]*graph.Value{nil}, in...), out, p, plan.Grid{op.Heads, int(p.N), 1}}, nil
	case ops.SwiGLUOp:
		p := plan.EltParams{Count: i32(in[0].Shape.Elements())}
		return call{"swiglu", 0, in, out, p, plan.Grid{int(p.Count), 1, 1}}, nil
	case ops.AddOp:
		p := plan.EltParams{Count: i32(in[0].Shape.Elements())}
		return call{"add", 0, in, out, p, plan.Grid{int(p.Count), 1, 1}}, nil
	}
	return call{}, fmt.Errorf("op %s has no kernel contract", n.Op.Name())
}

// matCall is a mat-vec family launch: weights first, then activations, as
// every mat-vec contract orders them.
func matCall(form string, v ops.Variant, w *graph.Value, in, out []*graph.Value) (call, error) {
	fam, err := matFamily(v)
	if err != nil {
		return call{}, err
	}
	x := in[len(in)-1]
	if form == "@acc" {
		x = in[1]
	}
	p := plan.MatParams{Rows: int32(w.Shape[0]), Cols: int32(w.Shape[1]), N: int32(x.Shape[0])}
	return call{fam + form, w.Type, in, out, p, plan.Grid{w.Shape[0], x.Shape[0], 1}}, nil
}

// matFamily names a mat-vec variant's contract family. Unselected runs as
// matvec, so the pipeline works with select_variants disabled.
func matFamily(v ops.Variant) (string, error) {
	switch v {
	case ops.Unselected, ops.MatVec:
		return "matvec", nil
	case ops.MultiMatVec:
		return "mtmatvec", nil
	case ops.MatMulTiled:
		return "matmul", nil
	}
	return "", fmt.Errorf("mat-vec variant %s has no kernel contract", v)
}

// attnFamily names an attention variant's contract family; Unselected
// takes select_variants' threshold.
func attnFamily(v ops.AttnVariant, n int) (string, error) {
	switch {
	case v == ops.AttnDecode || v == ops.AttnUnselected && n <= AttnDecodeMax:
		return "attn_decode", nil
	case v == ops.AttnPrefill || v == ops.AttnUnselected:
		return "attn_prefill", nil
	}
	return "", fmt.Errorf("attention variant %s has no kernel contract", v)
}

// commandBuffers groups dispatches: a small first command buffer, then the
// rest split evenly into buffers of at most maxCommandBufferDispatches.
func commandBuffers(ds []plan.Dispatch) []plan.CommandBuffer {
	first := min(len(ds), firstCommandBufferDispatches)
	cbs := []plan.CommandBuffer{{Dispatches: slices.Clone(ds[:first])}}
	rest := ds[first:]
	k := (len(rest) + maxCommandBufferDispatches - 1) / maxCommandBufferDispatches
	for i := range k {
		cbs = append(cbs, plan.CommandBuffer{Dispatches: slices.Clone(rest[i*len(rest)/k : (i+1)*len(rest)/k])})
	}
	return cbs
}

// placeBarriers sets Barrier on a dispatch that conflicts with one since
// the last barrier: it reads bytes written, or writes bytes read or
// written. A barrier waits for every earlier dispatch, so the segment
// starts over. The first dispatch of a command buffer needs none: command
// buffers run one after another.
func placeBarriers(cb *plan.CommandBuffer) {
	var segment []plan.Binding
	for i := range cb.Dispatches {
		d := &cb.Dispatches[i]
		if i > 0 && conflicts(segment, d.Bindings) {
			d.Barrier = true
			segment = segment[:0]
		}
		segment = append(segment, d.Bindings...)
	}
}

func conflicts(done, next []plan.Binding) bool {
	for _, x := range done {
		for _, y := range next {
			if (x.Write || y.Write) && x.Overlaps(y) {
				return true
			}
		}
	}
	return false
}
