package cpurt

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// cache is one layer's K or V cache, F32 or F16, viewed over the KV buffer.
// Each method handles one row span, so the type switch is per row.
type cache struct {
	f32 []float32
	f16 []uint16
}

func cacheView(c *compiler, i, elems int) (cache, error) {
	var err error
	var kc cache
	if c.c.Cache == quant.F16 {
		kc.f16, err = c.u16(i, elems)
	} else {
		kc.f32, err = c.f32(i, elems)
	}
	return kc, err
}

// cachePair views the K and V caches, which every cache contract binds at
// consecutive slots first and first+1.
func cachePair(c *compiler, first, elems int) (kc, vc cache, err error) {
	if kc, err = cacheView(c, first, elems); err != nil {
		return kc, vc, err
	}
	vc, err = cacheView(c, first+1, elems)
	return kc, vc, err
}

// store writes src at element offset off, rounding to F16 for an F16 cache.
func (c cache) store(off int, src []float32) {
	if c.f16 != nil {
		dst := c.f16[off : off+len(src)]
		for i, v := range src {
			dst[i] = quant.FP32ToFP16(v)
		}
		return
	}
	copy(c.f32[off:off+len(src)], src)
}

// dot is Σ q·row for the row of len(q) elements at off. Here and in axpy,
// float32() keeps each product rounded on its own, as on amd64, where arm64
// would fuse it with the sum into an FMA.
func (c cache) dot(off int, q []float32) float32 {
	var s float32
	if c.f16 != nil {
		row := c.f16[off : off+len(q)]
		for i, v := range q {
			s += float32(v * quant.FP16ToFP32(row[i]))
		}
		return s
	}
	row := c.f32[off : off+len(q)]
	for i, v := range q {
		s += float32(v * row[i])
	}
	return s
}

// axpy adds p·row to acc for the row of len(acc) elements at off.
func (c cache) axpy(off int, p float32, acc []float32) {
	if c.f16 != nil {
		row := c.f16[off : off+len(acc)]
		for i := range acc {
			acc[i] += float32(p * quant.FP16ToFP32(row[i]))
		}
		return
	}
	row := c.f32[off : off+len(acc)]
	for i := range acc {
		acc[i] += float32(p * row[i])
	}
}

// rope holds the rotation of one dispatch.
type rope struct {
	headDim, dims int
	thetaScale    float32
	freqScale     float32
}

func newRope(c *compiler, heads, headDim, dims int32, base, freqScale float32) (rope, error) {
	if err := c.positive("Heads, HeadDim, Dims", heads, headDim, dims); err != nil {
		return rope{}, err
	}
	if dims%2 != 0 || dims > headDim {
		return rope{}, c.errorf("%d rotated dims must be even and at most the head size %d", dims, headDim)
	}
	if !(base > 0) || math.IsInf(float64(base), 0) {
		return rope{}, c.errorf("rope base %g must be positive and finite", base)
	}
	return rope{
		headDim:    int(headDim),
		dims:       int(dims),
		thetaScale: float32(math.Pow(float64(base), float64(float32(-2)/float32(dims)))),
		freqScale:  freqScale,
	}, nil
}

// table fills cs with cos, sin of each rotated pair at position pos, the
// way ggml does: θ starts at pos and is multiplied by base^(-2/dims) in
// float32 from pair to pair.
func (r rope) table(pos int, cs []float32) {
	theta := float32(pos)
	for k := 0; k < r.dims/2; k++ {
		s, c := math.Sincos(float64(r.freqScale * theta))
		cs[2*k], cs[2*k+1] = float32(c), float32(s)
		theta *= r.thetaScale
	}
}

// apply rotates the heads of src into dst (which may be src), pairing
// adjacent elements; elements past dims are copied.
func (r rope) apply(cs, src, dst []float32) {
	for h := 0; h+r.headDim <= len(src); h += r.headDim {
		x, y := src[h:h+r.headDim], dst[h:h+r.headDim]
		for k := 0; k < r.dims; k += 2 {
			c, s := cs[k], cs[k+1]
			x0, x1 := x[k], x[k+1]
			y[k] = float32(x0*c) - float32(x1*s)
			y[k+1] = float32(x0*s) + float32(x1*c)
		}
		copy(y[r.dims:], x[r.dims:])
	}
}

func buildRope(c *compiler) ([]phase, error) {
	pr := c.d.Params.(plan.RopeParams)
	ro, err := newRope(c, pr.Heads, pr.HeadDim, pr.Dims, pr.Base, pr.FreqScale)
	if err != nil {
		return nil, err
	}
	if err := c.positive("N", pr.N); err != nil {
		return nil, err
	}
	width := int(pr.Heads * pr.HeadDim)
	step, err := c.step(0)
	if err != nil {
		return nil, err
	}
	x, err := c.f32(1, int(pr.N)*width)
	if err != nil {
		return nil, err
	}
	out, err := c.f32(2, int(pr.N)*width)
	if err != nil {
		return nil, err
	}
	p := c.p
	p.scratchWorker(ro.dims)
	return []phase{{units: int(pr.N), grain: 1, fn: func(w, lo, hi int) {
		cs := p.work(w, ro.dims)
		for i := lo; i < hi; i++ {
			ro.table(int(step[0])+i, cs)
			ro.apply(cs, x[i*width:(i+1)*width], out[i*width:(i+1)*width])
		}
	}}}, nil
}

// positions checks that the step's positions fit a cache of capacity rows.
func positions(step []int32, n, capacity int) (int, error) {
	pos0 := int(step[0])
	if pos0 < 0 || pos0+n > capacity {
		return 0, fmt.Errorf("positions %d..%d are outside the %d-position KV cache", pos0, pos0+n-1, capacity)
	}
	return pos0, nil
}

func buildKVWrite(c *compiler) ([]phase, error) {
	pr := c.d.Params.(plan.KVParams)
	if err := c.positive("Width, N, Capacity", pr.Width, pr.N, pr.Capacity); err != nil {
		return nil, err
	}
	width, n, capacity := int(pr.Width), int(pr.N), int(pr.Capacity)
	step, err := c.step(0)
	if err != nil {
		return nil, err
	}
	k, err := c.f32(1, n*width)
	if err != nil {
		return nil, err
	}
	v, err := c.f32(2, n*width)
	if err != nil {
		return nil, err
	}
	kc, vc, err := cachePair(c, 3, capacity*width)
	if err != nil {
		return nil, err
	}
	p := c.p
	p.limitContext(capacity)
	return []phase{{units: n, grain: 1, fn: func(_, lo, hi int) {
		pos0, err := positions(step, n, capacity)
		if err != nil {
			p.fail(err)
			return
		}
		for i := lo; i < hi; i++ {
			kc.store((pos0+i)*width, k[i*width:(i+1)*width])
			vc.store((pos0+i)*width, v[i*width:(i+1)*width])
		}
	}}}, nil
}

func buildRopeKVWrite(c *compiler) ([]phase, error) {
	pr := c.d.Params.(plan.RopeKVParams)
	ro, err := newRope(c, pr.Heads, pr.HeadDim, pr.Dims, pr.Base, pr.FreqScale)
	if err != nil {
		return nil, err
	}
	if err := c.positive("KVHeads, N, Capacity", pr.KVHeads, pr.N, pr.Capacity); err != nil {
		return nil, err
	}
	n, capacity := int(pr.N), int(pr.Capacity)
	qw, kw := int(pr.Heads*pr.HeadDim), int(pr.KVHeads*pr.HeadDim)
	step, err := c.step(0)
	if err != nil {
		return nil, err
	}
	q, err := c.f32(1, n*qw)
	if err != nil {
		return nil, err
	}
	k, err := c.f32(2, n*kw)
	if err != nil {
		return nil, err
	}
	v, err := c.f32(3, n*kw)
	if err != nil {
		return nil, err
	}
	qOut, err := c.f32(4, n*qw)
	if err != nil {
		return nil, err
	}
	kc, vc, err := cachePair(c, 5, capacity*kw)
	if err != nil {
		return nil, err
	}
	p := c.p
	p.limitContext(capacity)
	p.scratchWorker(ro.dims + kw)
	return []phase{{units: n, grain: 1, fn: func(w, lo, hi int) {
		pos0, err := positions(step, n, capacity)
		if err != nil {
			p.fail(err)
			return
		}
		scratch := p.work(w, ro.dims+kw)
		cs, kr := scratch[:ro.dims], scratch[ro.dims:]
		for i := lo; i < hi; i++ {
			ro.table(pos0+i, cs)
			ro.apply(cs, q[i*qw:(i+1)*qw], qOut[i*qw:(i+1)*qw])
			ro.apply(cs, k[i*kw:(i+1)*kw], kr)
			kc.store((pos0+i)*kw, kr)
			vc.store((pos0+i)*kw, v[i*kw:(i+1)*kw])
		}
	}}}, nil
}

// buildAttention serves attn_decode and attn_prefill: causal GQA of the
// step's N queries over the first KVLen cache rows, query i sitting at
// position KVLen-N+i. Like ggml's non-flash path it takes scaled scores, a
// softmax normalised in float32 (sum in float64), then the probability-
// weighted sum of V rows; with an F16 cache it rounds Q and the
// probabilities to F16 first, as ggml's F16 mat-muls convert their
// activations.
func buildAttention(c *compiler) ([]phase, error) {
	pr := c.d.Params.(plan.AttnParams)
	if err := c.positive("Heads, KVHeads, HeadDim, N, Capacity", pr.Heads, pr.KVHeads, pr.HeadDim, pr.N, pr.Capacity); err != nil {
		return nil, err
	}
	if pr.Heads%pr.KVHeads != 0 {
		return nil, c.errorf("%d query heads are not a multiple of %d KV heads", pr.Heads, pr.KVHeads)
	}
	if pr.Window < 0 {
		return nil, c.errorf("negative window %d", pr.Window)
	}
	heads, hd, n, capacity := int(pr.Heads), int(pr.HeadDim), int(pr.N), int(pr.Capacity)
	group, window, scale := heads/int(pr.KVHeads), int(pr.Window), pr.Scale
	qw, kw := heads*hd, int(pr.KVHeads)*hd
	f16 := c.c.Cache == quant.F16
	step, err := c.step(0)
	if err != nil {
		return nil, err
	}
	q, err := c.f32(1, n*qw)
	if err != nil {
		return nil, err
	}
	kc, vc, err := cachePair(c, 2, capacity*kw)
	if err != nil {
		return nil, err
	}
	out, err := c.f32(4, n*qw)
	if err != nil {
		return nil, err
	}
	p := c.p
	p.limitContext(capacity)
	p.scratchWorker(capacity + hd)
	return []phase{{units: n * heads, grain: 1, fn: func(w, lo, hi int) {
		kvLen := int(step[2])
		if kvLen < n || kvLen > capacity {
			p.fail(fmt.Errorf("KV length %d: the step of %d queries needs between %d and %d", kvLen, n, n, capacity))
			return
		}
		scratch := p.work(w, capacity+hd)
		qh := scratch[capacity:]
		for u := lo; u < hi; u++ {
			i, h := u/heads, u%heads
			pos := kvLen - n + i
			first := 0
			if window > 0 {
				first = max(0, pos-window+1)
			}
			src := q[i*qw+h*hd : i*qw+(h+1)*hd]
			copy(qh, src)
			if f16 {
				roundF16(qh)
			}
			off := (h / group) * hd
			scores := scratch[:pos+1-first]
			best := float32(math.Inf(-1))
			for j := range scores {
				s := kc.dot((first+j)*kw+off, qh) * scale
				scores[j] = s
				best = max(best, s)
			}
			var sum float64
			for j, s := range scores {
				e := float32(math.Exp(float64(s - best)))
				scores[j] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			dst := out[i*qw+h*hd : i*qw+(h+1)*hd]
			clear(dst)
			for j, e := range scores {
				pj := e * inv
				if f16 {
					pj = quant.FP16ToFP32(quant.FP32ToFP16(pj))
				}
				vc.axpy((first+j)*kw+off, pj, dst)
			}
		}
	}}}, nil
}

// roundF16 rounds values through half precision in place.
func roundF16(xs []float32) {
	for i, x := range xs {
		xs[i] = quant.FP16ToFP32(quant.FP32ToFP16(x))
	}
}
