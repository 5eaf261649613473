package cpurt

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/internal/fvec"
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

// dot is Σ q·row for the row of len(q) elements at off, in the order of
// ggml_vec_dot_f32 or ggml_vec_dot_f16.
func (c cache) dot(off int, q []float32) float32 {
	if c.f16 != nil {
		return fvec.DotF16(q, c.f16[off:off+len(q)])
	}
	return fvec.Dot(q, c.f32[off:off+len(q)])
}

// axpy adds p·row to acc, fused, for the row of len(acc) elements at off.
func (c cache) axpy(off int, p float32, acc []float32) {
	if c.f16 != nil {
		fvec.AxpyF16(p, c.f16[off:off+len(acc)], acc)
		return
	}
	fvec.Axpy(p, c.f32[off:off+len(acc)], acc)
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
		fvec.Rotate(y[:r.dims], x[:r.dims], cs)
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
// position KVLen-N+i. It follows ggml's non-flash path for one token, in
// the orders of its AVX2 build: scores K·Q by vec_dot, scaled; a softmax
// by ggml_vec_max_f32 and ggml_vec_soft_max_f32 (ggml_v_expf), normalised
// in float32 (sum in float64); then V·P by vec_dot over the positions (ggml
// keeps V transposed), which attend does as fused axpys of V rows into 32
// accumulator rows, one per lane of ggml's four registers. With an F16
// cache it rounds Q and the probabilities to F16 first, as ggml's F16
// mat-muls convert their activations.
//
// Several tokens take the same order: ggml's tinyBLAS sums them
// differently (one 8-lane register), which made no measurable difference
// against the goldens, and one order keeps a token's values independent
// of how the sequence is split into steps.
//
// A unit is one query token and a run of query heads sharing a KV head, so
// each K and V row is read once for the whole run (GQA).
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
	group, window := heads/int(pr.KVHeads), int(pr.Window)
	qw, kw := heads*hd, int(pr.KVHeads)*hd
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
	a := attnUnit{
		hd: hd, kw: kw, run: headRun(group, n*heads, c.p.rt.Threads()),
		span: capacity + 8, scale: pr.Scale, f16: c.c.Cache == quant.F16,
		kc: kc, vc: vc,
	}
	runs := heads / a.run
	p := c.p
	p.limitContext(capacity)
	p.scratchWorker(a.scratch())
	return []phase{{units: n * runs, grain: 1, fn: func(w, lo, hi int) {
		kvLen := int(step[2])
		if kvLen < n || kvLen > capacity {
			p.fail(fmt.Errorf("KV length %d: the step of %d queries needs between %d and %d", kvLen, n, n, capacity))
			return
		}
		scratch := p.work(w, a.scratch())
		for u := lo; u < hi; u++ {
			i, h0 := u/runs, (u%runs)*a.run
			pos := kvLen - n + i
			first := 0
			if window > 0 {
				first = max(0, pos-window+1)
			}
			rows := i*qw + h0*hd
			a.attend(q[rows:rows+a.run*hd], out[rows:rows+a.run*hd], (h0/group)*hd, first, pos, scratch)
		}
	}}}, nil
}

// headRun is how many query heads of a KV group one unit takes: the whole
// group, so that K and V rows are read once for it, halved while that
// leaves fewer than two units per worker.
func headRun(group, units, workers int) int {
	run := group
	for run%2 == 0 && units/run < 2*workers {
		run /= 2
	}
	return run
}

// attnUnit is what the units of one attention dispatch share.
type attnUnit struct {
	hd, kw, run, span int
	scale             float32
	f16               bool
	kc, vc            cache
}

// attnLanes is the number of P·V accumulator rows: ggml's four 8-lane
// registers.
const attnLanes = 32

// scratch is the worker space of one unit: Q rows, score rows of span
// positions, and the P·V accumulators, for each head of the run.
func (a *attnUnit) scratch() int { return a.run * (a.hd + a.span + attnLanes*a.hd) }

// attend computes the run of heads whose queries are q at position pos,
// over cache rows first..pos at element offset off within a row, into out.
// Scores are kept from first rounded down to 8 to pos+1 rounded up, the
// positions outside first..pos at -Inf, so that the softmax's blocks of 8
// fall where ggml's fall in its masked row of the whole padded KV length.
func (a *attnUnit) attend(q, out []float32, off, first, pos int, scratch []float32) {
	hd, run := a.hd, a.run
	qs := scratch[:run*hd]
	scores := scratch[run*hd : run*(hd+a.span)]
	accs := scratch[run*(hd+a.span) : a.scratch()]
	lo8, end := first&^7, (pos+8)&^7
	copy(qs, q)
	if a.f16 {
		roundF16(qs)
	}
	for j := first; j <= pos; j++ {
		for h := range run {
			scores[h*a.span+j-lo8] = a.kc.dot(j*a.kw+off, qs[h*hd:(h+1)*hd]) * a.scale
		}
	}
	inf := float32(math.Inf(-1))
	for h := range run {
		sc := scores[h*a.span : h*a.span+end-lo8]
		for j := lo8; j < first; j++ {
			sc[j-lo8] = inf
		}
		for j := pos + 1; j < end; j++ {
			sc[j-lo8] = inf
		}
		inv := float32(1 / fvec.ExpSum(sc, sc, fvec.Max(sc)))
		fvec.Scale(sc, sc, inv)
		if a.f16 {
			roundF16(sc[first-lo8 : pos+1-lo8])
		}
	}
	// Position j goes to accumulator row j mod 32, as its product to a lane
	// of ggml's registers; masked positions add nothing there.
	clear(accs)
	for j := first; j <= pos; j++ {
		row := (j % attnLanes) * hd
		for h := range run {
			acc := accs[h*attnLanes*hd+row : h*attnLanes*hd+row+hd]
			a.vc.axpy(j*a.kw+off, scores[h*a.span+j-lo8], acc)
		}
	}
	for h := range run {
		reduceLanes(accs[h*attnLanes*hd:(h+1)*attnLanes*hd], out[h*hd:(h+1)*hd])
	}
}

// reduceLanes adds the 32 accumulator rows of P·V (lane l of register r in
// row 8r+l) into dst as GGML_F32x8_REDUCE does: registers 0+2 and 1+3,
// then their sum, then the halves, then two horizontal adds.
func reduceLanes(acc, dst []float32) {
	hd := len(dst)
	row := func(i int) []float32 { return acc[i*hd : (i+1)*hd] }
	fvec.Add(acc[:16*hd], acc[:16*hd], acc[16*hd:])
	fvec.Add(acc[:8*hd], acc[:8*hd], acc[8*hd:16*hd])
	fvec.Add(acc[:4*hd], acc[:4*hd], acc[4*hd:8*hd])
	fvec.Add(row(0), row(0), row(1))
	fvec.Add(row(2), row(2), row(3))
	fvec.Add(dst, row(0), row(2))
}

// roundF16 rounds values through half precision in place.
func roundF16(xs []float32) {
	for i, x := range xs {
		xs[i] = quant.FP16ToFP32(quant.FP32ToFP16(x))
	}
}
