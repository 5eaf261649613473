package interp

import (
	"fmt"

	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
)

// kernel runs one dispatch of a contract: it reads the bindings as
// tensors, evaluates the ops op the parameters describe, and writes the
// results into the write bindings.
type kernel func(it *Interpreter, c plan.Contract, d *plan.Dispatch) error

// kernels maps contract families (without the type) to kernels. The
// mtmatvec and matmul variants compute what matvec computes; they differ
// only in how a runtime reads the weights.
var kernels = map[string]kernel{
	"embed":         embed,
	"rmsnorm":       rmsnorm,
	"rope":          rope,
	"kv_write":      kvWrite,
	"rope_kv_write": ropeKVWrite,
	"attn_decode":   attention,
	"attn_prefill":  attention,
	"swiglu":        elementwise(ops.SwiGLUOp{}),
	"add":           elementwise(ops.AddOp{}),
}

func init() {
	for _, v := range []string{"matvec", "mtmatvec", "matmul"} {
		kernels[v] = matmul
		kernels[v+"@acc"] = matmulAdd
		kernels[v+"@qkv"] = qkv
		kernels[v+"@gate_up"] = gateUp
	}
}

func kernelFor(name string) (kernel, bool) {
	c, err := plan.Lookup(name)
	if err != nil {
		return nil, false
	}
	k, ok := kernels[c.Family]
	return k, ok
}

// params returns the dispatch's parameters as the contract's struct.
func params[P plan.Params](d *plan.Dispatch) (P, error) {
	p, ok := d.Params.(P)
	if !ok {
		return p, fmt.Errorf("parameters are %T, want %T", d.Params, p)
	}
	return p, nil
}

// eval runs op and stores its outputs into the given bindings.
func (it *Interpreter) eval(op ops.Op, s ops.Step, in []*ops.Tensor, out ...plan.Binding) error {
	res, err := op.Eval(s, in)
	if err != nil {
		return err
	}
	for i, b := range out {
		if err := it.store(b, res[i]); err != nil {
			return err
		}
	}
	return nil
}

func embed(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.EmbedParams](d)
	if err != nil {
		return err
	}
	b := d.Bindings
	table, err := it.weight(b[0], c.Weight, int(p.Vocab), int(p.Dim))
	if err != nil {
		return err
	}
	tok, err := it.tokens(b[1], int(p.N))
	if err != nil {
		return err
	}
	return it.eval(ops.EmbedOp{}, ops.Step{}, []*ops.Tensor{table, tok}, b[2])
}

func rmsnorm(it *Interpreter, _ plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.NormParams](d)
	if err != nil {
		return err
	}
	b := d.Bindings
	x, err := it.floats(b[0], int(p.N), int(p.Dim))
	if err != nil {
		return err
	}
	w, err := it.floats(b[1], int(p.Dim))
	if err != nil {
		return err
	}
	return it.eval(ops.RMSNormOp{Eps: p.Eps}, ops.Step{}, []*ops.Tensor{x, w}, b[2])
}

// matInputs reads the weights (rows×cols each) and the input x (n×cols)
// of a mat-vec family dispatch whose first len(weights) bindings are
// weights and whose next is x.
func (it *Interpreter) matInputs(c plan.Contract, b []plan.Binding, rows []int32, cols, n int32) ([]*ops.Tensor, error) {
	var in []*ops.Tensor
	for i, r := range rows {
		w, err := it.weight(b[i], c.Weight, int(r), int(cols))
		if err != nil {
			return nil, err
		}
		in = append(in, w)
	}
	x, err := it.floats(b[len(rows)], int(n), int(cols))
	if err != nil {
		return nil, err
	}
	return append(in, x), nil
}

func matmul(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.MatParams](d)
	if err != nil {
		return err
	}
	in, err := it.matInputs(c, d.Bindings, []int32{p.Rows}, p.Cols, p.N)
	if err != nil {
		return err
	}
	return it.eval(ops.MatMulOp{}, ops.Step{}, in, d.Bindings[2])
}

func matmulAdd(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.MatParams](d)
	if err != nil {
		return err
	}
	in, err := it.matInputs(c, d.Bindings, []int32{p.Rows}, p.Cols, p.N)
	if err != nil {
		return err
	}
	r, err := it.floats(d.Bindings[2], int(p.N), int(p.Rows))
	if err != nil {
		return err
	}
	return it.eval(ops.MatMulAddOp{}, ops.Step{}, append(in, r), d.Bindings[3])
}

func qkv(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.QKVParams](d)
	if err != nil {
		return err
	}
	in, err := it.matInputs(c, d.Bindings, []int32{p.RowsQ, p.RowsKV, p.RowsKV}, p.Cols, p.N)
	if err != nil {
		return err
	}
	return it.eval(ops.QKVOp{}, ops.Step{}, in, d.Bindings[4:7]...)
}

func gateUp(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.MatParams](d)
	if err != nil {
		return err
	}
	in, err := it.matInputs(c, d.Bindings, []int32{p.Rows, p.Rows}, p.Cols, p.N)
	if err != nil {
		return err
	}
	return it.eval(ops.GateUpOp{}, ops.Step{}, in, d.Bindings[3])
}

func rope(it *Interpreter, _ plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.RopeParams](d)
	if err != nil {
		return err
	}
	b := d.Bindings
	s, err := it.step(b[0])
	if err != nil {
		return err
	}
	x, err := it.floats(b[1], int(p.N), int(p.Heads*p.HeadDim))
	if err != nil {
		return err
	}
	op := ops.RopeOp{Heads: int(p.Heads), HeadDim: int(p.HeadDim), Dims: int(p.Dims), Base: p.Base, FreqScale: p.FreqScale}
	return it.eval(op, s, []*ops.Tensor{x}, b[2])
}

// kvStep reads the step, the rows k and v (n×width) and the caches
// (capacity×width) of a cache-writing dispatch.
func (it *Interpreter) kvStep(c plan.Contract, step, k, v, kc, vc plan.Binding, n, width, capacity int) (ops.Step, []*ops.Tensor, error) {
	s, err := it.step(step)
	if err != nil {
		return s, nil, err
	}
	var ts []*ops.Tensor
	for _, b := range []plan.Binding{k, v} {
		t, err := it.floats(b, n, width)
		if err != nil {
			return s, nil, err
		}
		ts = append(ts, t)
	}
	for _, b := range []plan.Binding{kc, vc} {
		t, err := it.cache(b, c.Cache, capacity, width)
		if err != nil {
			return s, nil, err
		}
		ts = append(ts, t)
	}
	return s, ts, nil
}

func kvWrite(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.KVParams](d)
	if err != nil {
		return err
	}
	b := d.Bindings
	s, t, err := it.kvStep(c, b[0], b[1], b[2], b[3], b[4], int(p.N), int(p.Width), int(p.Capacity))
	if err != nil {
		return err
	}
	k, v, kc, vc := t[0], t[1], t[2], t[3]
	if _, err := (ops.KVWriteOp{}).Eval(s, []*ops.Tensor{kc, vc, k, v}); err != nil {
		return err
	}
	return storeCaches(it, b[3], b[4], kc, vc)
}

func ropeKVWrite(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.RopeKVParams](d)
	if err != nil {
		return err
	}
	b := d.Bindings
	s, t, err := it.kvStep(c, b[0], b[2], b[3], b[5], b[6], int(p.N), int(p.KVHeads*p.HeadDim), int(p.Capacity))
	if err != nil {
		return err
	}
	q, err := it.floats(b[1], int(p.N), int(p.Heads*p.HeadDim))
	if err != nil {
		return err
	}
	k, v, kc, vc := t[0], t[1], t[2], t[3]
	op := ops.RopeKVWriteOp{Rope: ops.RopeOp{Heads: int(p.Heads), HeadDim: int(p.HeadDim), Dims: int(p.Dims), Base: p.Base, FreqScale: p.FreqScale}}
	res, err := op.Eval(s, []*ops.Tensor{q, k, v, kc, vc})
	if err != nil {
		return err
	}
	if err := it.store(b[4], res[0]); err != nil {
		return err
	}
	return storeCaches(it, b[5], b[6], kc, vc)
}

func storeCaches(it *Interpreter, kb, vb plan.Binding, kc, vc *ops.Tensor) error {
	if err := it.storeCache(kb, kc); err != nil {
		return err
	}
	return it.storeCache(vb, vc)
}

func attention(it *Interpreter, c plan.Contract, d *plan.Dispatch) error {
	p, err := params[plan.AttnParams](d)
	if err != nil {
		return err
	}
	b := d.Bindings
	s, err := it.step(b[0])
	if err != nil {
		return err
	}
	q, err := it.floats(b[1], int(p.N), int(p.Heads*p.HeadDim))
	if err != nil {
		return err
	}
	width := int(p.KVHeads * p.HeadDim)
	kc, err := it.cache(b[2], c.Cache, int(p.Capacity), width)
	if err != nil {
		return err
	}
	vc, err := it.cache(b[3], c.Cache, int(p.Capacity), width)
	if err != nil {
		return err
	}
	op := ops.AttentionOp{Heads: int(p.Heads), KVHeads: int(p.KVHeads), HeadDim: int(p.HeadDim), Scale: p.Scale, Window: int(p.Window)}
	return it.eval(op, s, []*ops.Tensor{q, kc, vc}, b[4])
}

// elementwise runs a two-input elementwise op over EltParams.Count values.
func elementwise(op ops.Op) kernel {
	return func(it *Interpreter, _ plan.Contract, d *plan.Dispatch) error {
		p, err := params[plan.EltParams](d)
		if err != nil {
			return err
		}
		b := d.Bindings
		x, err := it.floats(b[0], int(p.Count))
		if err != nil {
			return err
		}
		y, err := it.floats(b[1], int(p.Count))
		if err != nil {
			return err
		}
		return it.eval(op, ops.Step{}, []*ops.Tensor{x, y}, b[2])
	}
}
