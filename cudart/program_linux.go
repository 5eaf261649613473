//go:build linux

package cudart

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/metalgraph/metalgraph/plan"
)

// tokensOffset is where the tokens follow the step parameters in the
// program's one input allocation, so a step uploads both with one copy.
const tokensOffset = 256

// Program is a plan compiled for the CUDA runtime: its buffers on the GPU
// (the weights and the KV cache are the runtime's), pinned host memory for
// the step's input and the logits, and one launch per dispatch with its
// arguments packed once.
type Program struct {
	rt       *Runtime
	name     string
	n, vocab int
	limits   plan.StepLimits

	input, arena, logits uintptr // device
	scratch              uintptr // for the steps a runtime adds (steps.go), or 0
	hostIn, hostLogits   unsafe.Pointer
	inBytes, logitBytes  uint64

	launches []launch
	graph    graphState
	closed   bool

	profile Profile // with Options.Profile
	events  *events
}

// launch is one dispatch, ready to go.
type launch struct {
	kernel, node string
	fn           uintptr
	geo          Launch
	args         *launchArgs
	weightBytes  int64 // weights a mat-vec family reads, for the profile
}

func newProgram(r *Runtime, pl *plan.Plan) (p *Program, err error) {
	p = &Program{rt: r, name: pl.Name, n: pl.N, vocab: pl.Vocab, limits: plan.LimitsOf(pl)}
	defer func() {
		if err != nil {
			p.release()
		}
	}()
	steps := pl.Buffers[plan.Step].Size
	if steps < 12 || steps > tokensOffset {
		return nil, fmt.Errorf("cudart: plan %s: the step buffer has %d bytes, want 12 to %d", p.name, steps, tokensOffset)
	}
	if pl.Buffers[plan.Tokens].Size < 4*int64(p.n) {
		return nil, fmt.Errorf("cudart: plan %s: the tokens buffer has %d bytes, %d tokens need %d", p.name, pl.Buffers[plan.Tokens].Size, p.n, 4*p.n)
	}
	if p.vocab < 0 || pl.Buffers[plan.Logits].Size < 4*int64(p.n)*int64(p.vocab) {
		return nil, fmt.Errorf("cudart: plan %s: the logits buffer has %d bytes, %d rows of %d logits need %d",
			p.name, pl.Buffers[plan.Logits].Size, p.n, p.vocab, 4*p.n*p.vocab)
	}
	p.inBytes = uint64(tokensOffset + pl.Buffers[plan.Tokens].Size)
	p.logitBytes = uint64(pl.Buffers[plan.Logits].Size)
	if p.input, err = r.alloc(int64(p.inBytes), "step input"); err != nil {
		return nil, err
	}
	if p.arena, err = r.alloc(pl.Buffers[plan.Arena].Size, "arena"); err != nil {
		return nil, err
	}
	if p.logits, err = r.alloc(int64(p.logitBytes), "logits"); err != nil {
		return nil, err
	}
	drv := r.dev.drv
	if err = drv.check(drv.cuMemHostAlloc(&p.hostIn, p.inBytes, 0), "cuMemHostAlloc"); err != nil {
		return nil, fmt.Errorf("cudart: pinned memory for the step input: %w", err)
	}
	if err = drv.check(drv.cuMemHostAlloc(&p.hostLogits, max(p.logitBytes, 4), 0), "cuMemHostAlloc"); err != nil {
		return nil, fmt.Errorf("cudart: pinned memory for the logits: %w", err)
	}
	clear(unsafe.Slice((*byte)(p.hostIn), p.inBytes))
	bases := [...]uintptr{plan.Step: p.input, plan.Tokens: p.input + tokensOffset, plan.Weights: r.weights,
		plan.KV: r.kv, plan.Arena: p.arena, plan.Logits: p.logits}
	scratch := int64(0)
	for _, d := range pl.Dispatches() {
		scratch = max(scratch, ScratchBytes(d))
	}
	if scratch > 0 {
		if p.scratch, err = r.alloc(scratch, "scratch"); err != nil {
			return nil, err
		}
	}
	for _, d := range pl.Dispatches() {
		ptrs := make([]uint64, len(d.Bindings))
		weightBytes := int64(0)
		for i, b := range d.Bindings {
			ptrs[i] = uint64(bases[b.Buffer]) + uint64(b.Offset)
			if b.Buffer == plan.Weights {
				weightBytes += b.Length
			}
		}
		if c, _ := plan.Lookup(d.Kernel); UnitOf(c) == baseUnit {
			weightBytes = 0 // norms' weights are small; embed reads one row of its table
		}
		steps, err := Steps(d, ptrs, uint64(p.scratch))
		if err != nil {
			return nil, err
		}
		for _, s := range steps {
			fn, err := r.function(s.Kernel, d.Kernel)
			if err != nil {
				return nil, err
			}
			args, err := newLaunchArgs(s.Args)
			if err != nil {
				return nil, err
			}
			l := launch{kernel: s.Kernel, node: d.Node, fn: fn, geo: s.Launch, args: args}
			if s.Kernel == d.Kernel {
				l.weightBytes = weightBytes
			}
			p.launches = append(p.launches, l)
		}
	}
	return p, nil
}

// N is the number of tokens each step of the program takes.
func (p *Program) N() int { return p.n }

// Run executes one step: it uploads the step parameters and the tokens,
// runs every dispatch in order (replaying the program's CUDA graph, which
// its first step captures) and returns the logits, N rows of the
// vocabulary size. The slice is pinned memory of the program, overwritten
// by its next Run.
func (p *Program) Run(tokens []int32, pos0 int) ([]float32, error) {
	if err := p.limits.Check(p.name, p.n, tokens, pos0); err != nil {
		return nil, fmt.Errorf("cudart: %w", err)
	}
	r := p.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("cudart: program %s: the runtime is closed", p.name)
	}
	if p.closed {
		return nil, fmt.Errorf("cudart: program %s is closed", p.name)
	}
	leave, err := r.dev.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	in := unsafe.Slice((*byte)(p.hostIn), p.inBytes)
	for i, v := range []int32{int32(pos0), int32(p.n), int32(pos0 + p.n)} {
		binary.LittleEndian.PutUint32(in[4*i:], uint32(v))
	}
	for i, t := range tokens {
		binary.LittleEndian.PutUint32(in[tokensOffset+4*i:], uint32(t))
	}
	drv := r.dev.drv
	if err := drv.check(drv.call(drv.memcpyHtoDAsync, p.input, uintptr(p.hostIn), uintptr(p.inBytes), r.stream), "uploading the step"); err != nil {
		return nil, fmt.Errorf("cudart: program %s: %w", p.name, err)
	}
	execute := p.execute
	if r.opts.Profile != nil {
		execute = p.executeProfiled
	}
	if err := execute(); err != nil {
		return nil, err
	}
	if err := drv.check(drv.call(drv.memcpyDtoHAsync, uintptr(p.hostLogits), p.logits, uintptr(p.logitBytes), r.stream), "reading the logits"); err != nil {
		return nil, fmt.Errorf("cudart: program %s: %w", p.name, err)
	}
	if err := drv.check(drv.cuStreamSynchronize(r.stream), "step"); err != nil {
		return nil, fmt.Errorf("cudart: program %s: %w", p.name, err)
	}
	return unsafe.Slice((*float32)(p.hostLogits), p.n*p.vocab), nil
}

// execute enqueues the step's kernels: a replay of the graph, captured at
// the first step, or (with Options.NoGraphs) every launch.
func (p *Program) execute() error {
	if p.rt.opts.NoGraphs {
		return p.enqueue()
	}
	if err := p.graph.ensure(p.rt.dev.drv, p.rt.stream, p.enqueue); err != nil {
		return err
	}
	drv := p.rt.dev.drv
	if err := drv.check(drv.call(drv.graphLaunch, p.graph.exec, p.rt.stream), "cuGraphLaunch"); err != nil {
		return fmt.Errorf("cudart: program %s: %w", p.name, err)
	}
	return nil
}

// enqueue launches every dispatch on the runtime's stream.
func (p *Program) enqueue() error {
	drv := p.rt.dev.drv
	for i := range p.launches {
		l := &p.launches[i]
		if err := drv.check(drv.launch(l.fn, l.geo, p.rt.stream, &l.args.extra), "cuLaunchKernel"); err != nil {
			return fmt.Errorf("cudart: node %s (%s): %w", l.node, l.kernel, err)
		}
	}
	return nil
}

// Close frees the program's GPU and pinned memory; the runtime and its
// other programs go on. Closing twice does nothing.
func (p *Program) Close() error {
	r := p.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.closed || r.closed {
		p.closed = true
		return nil
	}
	leave, err := r.dev.enter()
	if err != nil {
		return err
	}
	defer leave()
	r.dev.drv.cuStreamSynchronize(r.stream)
	p.release()
	return nil
}

// release frees what the program holds; the context is current.
func (p *Program) release() {
	drv := p.rt.dev.drv
	p.graph.destroy(drv)
	if p.events != nil {
		p.events.destroy()
	}
	for _, ptr := range []uintptr{p.input, p.arena, p.logits, p.scratch} {
		if ptr != 0 {
			drv.cuMemFree(ptr)
		}
	}
	for _, h := range []unsafe.Pointer{p.hostIn, p.hostLogits} {
		if h != nil {
			drv.cuMemFreeHost(h)
		}
	}
	p.input, p.arena, p.logits, p.scratch, p.hostIn, p.hostLogits = 0, 0, 0, 0, nil, nil
	p.closed = true
}
