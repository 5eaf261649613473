package opcases

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// A Case is a plan of one dispatch over the shared weights buffer, with
// the step it runs and where its outputs lie in the logits.
type Case struct {
	Name   string
	Plan   *plan.Plan
	Tokens []int32
	Pos0   int
	Out    []Segment
	// NMSE bounds the normalised mean squared error (NMSE) of each output
	// against the CPU runtime's.
	NMSE float64
}

// Segment is one output inside the logits buffer.
type Segment struct {
	Name   string
	Offset int64 // bytes
	Count  int
	Type   quant.Type // F32, or F16 for half caches
}

// Values decodes the segment from a runtime's logits.
func (s Segment) Values(logits []float32) []float64 {
	out := make([]float64, s.Count)
	raw := make([]byte, 4*len(logits))
	for i, v := range logits {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	for i := range out {
		if s.Type == quant.F16 {
			out[i] = float64(quant.FP16ToFP32(binary.LittleEndian.Uint16(raw[s.Offset+2*int64(i):])))
		} else {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[s.Offset+4*int64(i):])))
		}
	}
	return out
}

// NMSE is Σ(a−b)²/Σb², with b the reference; NaN if either has a NaN.
func NMSE(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		d := a[i] - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	if den == 0 {
		return num
	}
	return num / den
}

// Tolerances (NMSE) by what differs between the runtimes. Float kernels
// differ in summation order and libm only; the CPU runtime quantises
// activations to Q8_0/Q8_K (or rounds them to F16/BF16) for the weight
// types ggml does, the GPU kernels read float activations, which is what
// test-backend-ops allows mat-muls of quantised types (5e-4).
const (
	NMSEFloat = 1e-6
	NMSEHalf  = 1e-5 // F16 caches: both read the same halves; products in float
	NMSEQuant = 5e-4
)

// matTolerance is the bound for mat-vecs with weights of type t.
func matTolerance(t quant.Type) float64 {
	if t == quant.F32 {
		return NMSEFloat
	}
	return NMSEQuant
}

// CacheNMSE is the bound for kernels that read or write a cache of type ct.
func CacheNMSE(ct quant.Type) float64 {
	if ct == quant.F16 {
		return NMSEHalf
	}
	return NMSEFloat
}

// arena is a byte buffer that places 256-byte-aligned regions.
type arena struct{ b []byte }

func (a *arena) place(n int) (off int64, b []byte) {
	start := (len(a.b) + 255) / 256 * 256
	a.b = append(a.b, make([]byte, start+n-len(a.b))...)
	return int64(start), a.b[start:]
}

// Weights is the buffer that a set of cases place their inputs in, so that
// one runtime over it runs them all.
type Weights struct{ arena }

// Finish gives every case's plan the buffer's final size and returns the
// buffer; the cases are valid plans only after it.
func (w *Weights) Finish(cases []Case) []byte {
	for _, c := range cases {
		c.Plan.Buffers[plan.Weights].Size = int64(len(w.b))
	}
	return w.b
}

// Builder builds one case: inputs into the shared weights, outputs into
// the case's logits layout.
type Builder struct {
	w    *Weights
	rng  *rand.Rand
	out  arena
	c    Case
	bind []plan.Binding
	n    int
}

// New starts a case of n tokens; its random inputs are seeded by its name.
func New(w *Weights, name string, n int) *Builder {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &Builder{w: w, rng: rand.New(rand.NewPCG(1, h.Sum64())), n: n, c: Case{Name: name}}
}

// Input adds count random values of type t, rows of rowLen, scaled.
func (b *Builder) Input(name string, t quant.Type, count, rowLen int, scale, bias float64) {
	rb, err := quant.RowBytes(t, int64(rowLen))
	if err != nil {
		panic(fmt.Sprintf("case %s input %s: %v", b.c.Name, name, err))
	}
	rows := count / rowLen
	off, dst := b.w.place(rows * int(rb))
	row := make([]float32, rowLen)
	for r := range rows {
		for i := range row {
			row[i] = float32(b.rng.NormFloat64()*scale + bias)
		}
		if err := quant.QuantizeRow(t, row, dst[r*int(rb):(r+1)*int(rb)]); err != nil {
			panic(fmt.Sprintf("case %s input %s: %v", b.c.Name, name, err))
		}
	}
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Weights, Offset: off, Length: int64(rows) * rb, Value: name})
}

// Step binds the step parameters.
func (b *Builder) Step() {
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Step, Length: 16, Value: "step"})
}

// Tokens binds the step's tokens, random ids below vocab.
func (b *Builder) Tokens(vocab int) {
	b.c.Tokens = make([]int32, b.n)
	for i := range b.c.Tokens {
		b.c.Tokens[i] = int32(b.rng.IntN(vocab))
	}
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Tokens, Length: 4 * int64(b.n), Value: "tokens"})
}

// Output binds count values of type t in the logits buffer.
func (b *Builder) Output(name string, t quant.Type, count int) {
	size := count * 4
	if t == quant.F16 {
		size = count * 2
	}
	off, _ := b.out.place(size)
	b.c.Out = append(b.c.Out, Segment{Name: name, Offset: off, Count: count, Type: t})
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Logits, Offset: off, Length: int64(size), Write: true, Value: name})
}

// Done makes the plan: the logits buffer is padded to N rows of "vocab"
// floats.
func (b *Builder) Done(kernel string, params plan.Params, grid plan.Grid, nmse float64) Case {
	rowBytes := 4 * b.n
	total := (len(b.out.b) + rowBytes - 1) / rowBytes * rowBytes
	p := &plan.Plan{Name: b.c.Name, N: b.n, Vocab: total / rowBytes}
	sizes := [...]int64{plan.Step: 16, plan.Tokens: 4 * int64(b.n), plan.Logits: int64(total)}
	for k := range p.Buffers {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: sizes[k]}
	}
	p.Commands = []plan.CommandBuffer{{Dispatches: []plan.Dispatch{
		{Kernel: kernel, Node: b.c.Name, Bindings: b.bind, Params: params, Grid: grid},
	}}}
	b.c.Plan, b.c.NMSE = p, nmse
	if b.c.Tokens == nil {
		b.c.Tokens = make([]int32, b.n) // a step always has N tokens; only embed reads them
	}
	return b.c
}
