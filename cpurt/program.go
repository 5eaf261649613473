package cpurt

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"

	"github.com/metalgraph/metalgraph/plan"
)

// phase is one parallel step of a kernel over units (rows, tokens,
// heads...). A kernel's phases run in order with a barrier between them.
type phase struct {
	units, grain int
	fn           task
}

// kernel is a dispatch compiled to closures over its bindings' views, so
// that Run only walks a slice: no lookups, no allocation.
type kernel struct {
	name, node string
	phases     []phase
}

// Program is a plan compiled for this runtime: its buffers (the weights
// and the KV cache are the runtime's), and a kernel per dispatch.
type Program struct {
	rt     *Runtime
	name   string
	n      int
	vocab  int
	bufs   [6][]byte // indexed by plan.BufferKind
	step   []int32
	tokens []int32
	logits []float32

	kernels []kernel
	// context is the number of positions the plan's caches hold (0 when
	// the plan uses no cache); vocabLimit the embed table's rows (0: no
	// embed).
	context, vocabLimit int

	// Scratch shared by the dispatches, which run one at a time: quantised
	// (or F16/BF16-rounded) activation rows, and per-worker float space.
	act      []byte
	actF     []float32
	tileAct  []byte // per token: quant.PrepareTileActivation of its act row
	perWork  [][]float32
	needAct  int
	needActF int
	needTile int
	needWork int

	// lastOnly is set during RunLast: the kernel that writes the logits
	// computes the last token's row alone.
	lastOnly bool

	mu  sync.Mutex
	err error // reported by a kernel during the current dispatch
}

func newProgram(r *Runtime, pl *plan.Plan, kv []byte) (*Program, error) {
	p := &Program{rt: r, name: pl.Name, n: pl.N, vocab: pl.Vocab}
	for k, b := range pl.Buffers {
		switch plan.BufferKind(k) {
		case plan.Weights:
			p.bufs[k] = r.weights
		case plan.KV:
			p.bufs[k] = kv
		default:
			p.bufs[k] = alignedBytes(b.Size)
		}
	}
	var err error
	if p.step, err = viewOf[int32](p.bufs[plan.Step]); err != nil || len(p.step) < 3 {
		return nil, fmt.Errorf("cpurt: plan %s: the step buffer has %d bytes, it needs at least 12", p.name, len(p.bufs[plan.Step]))
	}
	if p.tokens, err = viewOf[int32](p.bufs[plan.Tokens]); err != nil || len(p.tokens) < p.n {
		return nil, fmt.Errorf("cpurt: plan %s: the tokens buffer has %d bytes, %d tokens need %d", p.name, len(p.bufs[plan.Tokens]), p.n, 4*p.n)
	}
	p.tokens = p.tokens[:p.n]
	if p.vocab < 0 || int64(len(p.bufs[plan.Logits])) < 4*int64(p.n)*int64(p.vocab) {
		return nil, fmt.Errorf("cpurt: plan %s: the logits buffer has %d bytes, %d rows of %d logits need %d",
			p.name, len(p.bufs[plan.Logits]), p.n, p.vocab, 4*p.n*p.vocab)
	}
	logits, _ := viewOf[float32](p.bufs[plan.Logits])
	p.logits = logits[:p.n*p.vocab]

	for i, d := range pl.Dispatches() {
		c := &compiler{p: p, index: i, d: d}
		c.c, _ = plan.Lookup(d.Kernel) // Compile checked every name
		phases, err := kernels[d.Kernel](c)
		if err != nil {
			return nil, err
		}
		p.kernels = append(p.kernels, kernel{name: d.Kernel, node: d.Node, phases: phases})
	}
	p.act = alignedBytes(int64(p.needAct))
	p.actF = make([]float32, p.needActF)
	p.tileAct = make([]byte, p.needTile)
	p.perWork = make([][]float32, r.pool.workers)
	for w := range p.perWork {
		p.perWork[w] = make([]float32, p.needWork)
	}
	return p, nil
}

// Scratch and limit requests, made by kernel builders.

func (p *Program) scratchAct(bytes int)    { p.needAct = max(p.needAct, bytes) }
func (p *Program) scratchActF(n int)       { p.needActF = max(p.needActF, n) }
func (p *Program) scratchTileAct(n int)    { p.needTile = max(p.needTile, n) }
func (p *Program) scratchWorker(n int)     { p.needWork = max(p.needWork, n) }
func (p *Program) work(w, n int) []float32 { return p.perWork[w][:n] }

func (p *Program) limitContext(positions int) {
	if p.context == 0 || positions < p.context {
		p.context = positions
	}
}

func (p *Program) limitVocab(rows int) {
	if p.vocabLimit == 0 || rows < p.vocabLimit {
		p.vocabLimit = rows
	}
}

// fail records a kernel's error; Run returns the first one.
func (p *Program) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *Program) takeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.err
	p.err = nil
	return err
}

// N is the number of tokens each step of the program takes.
func (p *Program) N() int { return p.n }

// Run executes one step: it writes the step parameters and the tokens,
// runs every dispatch in order and returns the logits, N rows of the
// vocabulary size. The slice belongs to the program and is overwritten by
// its next Run.
func (p *Program) Run(tokens []int32, pos0 int) ([]float32, error) {
	return p.run(tokens, pos0, false)
}

// RunLast is Run for a caller that needs the last token's logits alone, as
// a prefill does: the output projection, the largest mat-vec of a small
// model and a few percent of a 7B's prefill, runs for that token only. It
// returns that one row.
func (p *Program) RunLast(tokens []int32, pos0 int) ([]float32, error) {
	logits, err := p.run(tokens, pos0, true)
	if err != nil {
		return nil, err
	}
	return logits[(p.n-1)*p.vocab:], nil
}

func (p *Program) run(tokens []int32, pos0 int, lastOnly bool) ([]float32, error) {
	if len(tokens) != p.n {
		return nil, fmt.Errorf("cpurt: program %s takes steps of %d tokens, got %d", p.name, p.n, len(tokens))
	}
	if pos0 < 0 {
		return nil, fmt.Errorf("cpurt: negative start position %d", pos0)
	}
	if last := pos0 + p.n - 1; p.context > 0 && last >= p.context {
		return nil, fmt.Errorf("cpurt: context full: position %d exceeds the context of %d tokens", last, p.context)
	} else if last > math.MaxInt32-1 {
		return nil, fmt.Errorf("cpurt: position %d is out of range", last)
	}
	if p.vocabLimit > 0 {
		for i, t := range tokens {
			if t < 0 || int(t) >= p.vocabLimit {
				return nil, fmt.Errorf("cpurt: token %d of the step has id %d, outside the vocabulary of %d tokens", i, t, p.vocabLimit)
			}
		}
	}
	r := p.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("cpurt: program %s: the runtime is closed", p.name)
	}
	// The caller is worker 0: its faults must become errors too.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	p.lastOnly = lastOnly
	p.step[0], p.step[1], p.step[2] = int32(pos0), int32(p.n), int32(pos0+p.n)
	copy(p.tokens, tokens)
	for i := range p.kernels {
		k := &p.kernels[i]
		for _, ph := range k.phases {
			err := r.pool.run(ph.units, ph.grain, ph.fn)
			if kerr := p.takeErr(); err == nil {
				err = kerr
			}
			if errors.Is(err, errWeightsFault) {
				return nil, err // about the file, not the node
			}
			if err != nil {
				return nil, fmt.Errorf("cpurt: node %s (%s): %w", k.node, k.name, err)
			}
		}
	}
	return p.logits, nil
}
