package ops

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

// RopeOp rotates the first Dims elements of each head by the token's
// position, pairing adjacent elements (2i, 2i+1) as Llama GGUF files expect.
// Frequencies are Base^(-2i/Dims), positions are scaled by FreqScale.
type RopeOp struct {
	Heads, HeadDim, Dims int
	Base, FreqScale      float32
}

func (RopeOp) Name() string  { return "rope" }
func (RopeOp) Label() string { return "rope" }

func (o RopeOp) check(x *graph.Value) error {
	if err := first(wantF32(x, "input"), wantRank(x, 2, "input")); err != nil {
		return err
	}
	if o.Heads <= 0 || o.HeadDim <= 0 || o.Dims <= 0 || o.Dims > o.HeadDim || o.Dims%2 != 0 {
		return fmt.Errorf("bad rope attributes: %d heads of %d, %d rotated dims", o.Heads, o.HeadDim, o.Dims)
	}
	if x.Shape[1] != o.Heads*o.HeadDim {
		return fmt.Errorf("input %s rows have %d elements, want %d heads × %d", x.Name, x.Shape[1], o.Heads, o.HeadDim)
	}
	return nil
}

func (o RopeOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 1); err != nil {
		return nil, err
	}
	if err := o.check(in[0]); err != nil {
		return nil, err
	}
	return one(quant.F32, in[0].Shape), nil
}

func (RopeOp) Cost(in, out []*graph.Value) Cost {
	return Cost{ReadBytes: f32(in[0]), WriteBytes: f32(out[0]), Flops: 6 * int64(in[0].Shape.Elements())}
}

func (o RopeOp) Eval(s Step, in []*Tensor) ([]*Tensor, error) {
	out := in[0].Clone()
	o.apply(s, out)
	return []*Tensor{out}, nil
}

// apply rotates t in place; row i is at position s.Pos0+i.
func (o RopeOp) apply(s Step, t *Tensor) {
	for i := range t.Shape[0] {
		pos := float64(s.Pos0+i) * float64(o.FreqScale)
		row := t.Row(i)
		for h := range o.Heads {
			head := row[h*o.HeadDim : (h+1)*o.HeadDim]
			for k := 0; k < o.Dims; k += 2 {
				theta := pos * math.Pow(float64(o.Base), -float64(k)/float64(o.Dims))
				sin, cos := math.Sincos(theta)
				x0, x1 := float64(head[k]), float64(head[k+1])
				head[k] = float32(x0*cos - x1*sin)
				head[k+1] = float32(x0*sin + x1*cos)
			}
		}
	}
}

// KVWriteOp stores the step's K and V rows in the caches at positions
// Pos0..Pos0+N-1: (kcache[C,KV], vcache[C,KV], k[N,KV], v[N,KV]) → the
// updated caches, which alias the state they were given.
type KVWriteOp struct{}

func (KVWriteOp) Name() string  { return "kv_write" }
func (KVWriteOp) Label() string { return "kv_write" }

func (KVWriteOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 4); err != nil {
		return nil, err
	}
	return kvWriteOut(in[0], in[1], in[2], in[3])
}

func kvWriteOut(kc, vc, k, v *graph.Value) ([]graph.Out, error) {
	for _, c := range []*graph.Value{kc, vc} {
		if err := wantRank(c, 2, "cache"); err != nil {
			return nil, err
		}
		if c.Type != quant.F32 && c.Type != quant.F16 {
			return nil, fmt.Errorf("cache %s must be F32 or F16, is %s", c.Name, c.Type)
		}
	}
	if err := first(wantF32(k, "k"), wantF32(v, "v"), wantRank(k, 2, "k"), wantSame(k, v), wantSame(kc, vc)); err != nil {
		return nil, err
	}
	if k.Shape[1] != kc.Shape[1] {
		return nil, fmt.Errorf("k rows have %d elements, cache %s rows have %d", k.Shape[1], kc.Name, kc.Shape[1])
	}
	if k.Shape[0] > kc.Shape[0] {
		return nil, fmt.Errorf("step of %d tokens exceeds the %d-position cache", k.Shape[0], kc.Shape[0])
	}
	return []graph.Out{{Type: kc.Type, Shape: kc.Shape}, {Type: vc.Type, Shape: vc.Shape}}, nil
}

func (KVWriteOp) Cost(in, _ []*graph.Value) Cost {
	return Cost{ReadBytes: 2 * f32(in[2]), WriteBytes: 2 * int64(in[2].Shape.Elements()) * int64(in[0].Bytes()/int64(in[0].Shape.Elements()))}
}

func (KVWriteOp) Eval(s Step, in []*Tensor) ([]*Tensor, error) {
	if err := kvStore(s, in[0], in[1], in[2], in[3]); err != nil {
		return nil, err
	}
	return []*Tensor{in[0], in[1]}, nil
}

func kvStore(s Step, kc, vc, k, v *Tensor) error {
	n := k.Shape[0]
	if s.Pos0 < 0 || s.Pos0+n > kc.Shape[0] {
		return fmt.Errorf("positions %d..%d outside the %d-position KV cache", s.Pos0, s.Pos0+n-1, kc.Shape[0])
	}
	for i := range n {
		copy(kc.Row(s.Pos0+i), k.Row(i))
		copy(vc.Row(s.Pos0+i), v.Row(i))
		if kc.Type == quant.F16 {
			roundF16(kc.Row(s.Pos0 + i))
			roundF16(vc.Row(s.Pos0 + i))
		}
	}
	return nil
}

// roundF16 rounds values through half precision, as an F16 cache stores them.
func roundF16(xs []float32) {
	for i, x := range xs {
		xs[i] = quant.FP16ToFP32(quant.FP32ToFP16(x))
	}
}

// AttentionOp is causal grouped-query attention of the step's queries over
// the cache: (q[N,H·hd], kcache[C,KV·hd], vcache[C,KV·hd]) → [N,H·hd].
// Query i sits at position Pos0+i and sees cache positions up to its own;
// with Window > 0 only the last Window of them.
type AttentionOp struct {
	Heads, KVHeads, HeadDim int
	Scale                   float32
	Window                  int
	Variant                 AttnVariant
}

func (AttentionOp) Name() string    { return "attention" }
func (o AttentionOp) Label() string { return label("attention", o.Variant) }

func (o AttentionOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 3); err != nil {
		return nil, err
	}
	return o.infer(in[0], in[1], in[2])
}

func (o AttentionOp) infer(q, kc, vc *graph.Value) ([]graph.Out, error) {
	if o.Heads <= 0 || o.KVHeads <= 0 || o.HeadDim <= 0 || o.Heads%o.KVHeads != 0 {
		return nil, fmt.Errorf("bad head counts: %d query heads, %d KV heads of %d", o.Heads, o.KVHeads, o.HeadDim)
	}
	if err := first(wantF32(q, "q"), wantRank(q, 2, "q"), wantRank(kc, 2, "k cache"), wantSame(kc, vc)); err != nil {
		return nil, err
	}
	if q.Shape[1] != o.Heads*o.HeadDim {
		return nil, fmt.Errorf("q rows have %d elements, want %d heads × %d", q.Shape[1], o.Heads, o.HeadDim)
	}
	if kc.Shape[1] != o.KVHeads*o.HeadDim {
		return nil, fmt.Errorf("cache rows have %d elements, want %d KV heads × %d", kc.Shape[1], o.KVHeads, o.HeadDim)
	}
	return one(quant.F32, q.Shape), nil
}

// Cost counts the whole cache as read: the bound at full context.
func (AttentionOp) Cost(in, out []*graph.Value) Cost {
	n, c := int64(in[0].Shape[0]), int64(in[1].Shape[0])
	return Cost{
		ReadBytes:  f32(in[0]) + in[1].Bytes() + in[2].Bytes(),
		WriteBytes: f32(out[0]),
		Flops:      4 * n * c * int64(in[0].Shape[1]),
	}
}

func (o AttentionOp) Eval(s Step, in []*Tensor) ([]*Tensor, error) {
	q, kc, vc := in[0], in[1], in[2]
	n := q.Shape[0]
	if s.Pos0+n > kc.Shape[0] {
		return nil, fmt.Errorf("positions up to %d exceed the %d-position KV cache", s.Pos0+n-1, kc.Shape[0])
	}
	out := NewTensor(q.Shape...)
	group := o.Heads / o.KVHeads
	for i := range n {
		pos := s.Pos0 + i
		lo := 0
		if o.Window > 0 {
			lo = max(0, pos-o.Window+1)
		}
		scores := make([]float64, pos+1-lo)
		for h := range o.Heads {
			qh := q.Row(i)[h*o.HeadDim : (h+1)*o.HeadDim]
			kvOff := (h / group) * o.HeadDim
			maxScore := math.Inf(-1)
			for j := lo; j <= pos; j++ {
				kh := kc.Row(j)[kvOff : kvOff+o.HeadDim]
				var dot float64
				for d, qv := range qh {
					dot += float64(qv) * float64(kh[d])
				}
				scores[j-lo] = dot * float64(o.Scale)
				maxScore = math.Max(maxScore, scores[j-lo])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - maxScore)
				sum += scores[j]
			}
			dst := out.Row(i)[h*o.HeadDim : (h+1)*o.HeadDim]
			for d := range dst {
				var acc float64
				for j := lo; j <= pos; j++ {
					acc += scores[j-lo] * float64(vc.Row(j)[kvOff+d])
				}
				dst[d] = float32(acc / sum)
			}
		}
	}
	return []*Tensor{out}, nil
}
