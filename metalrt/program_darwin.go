//go:build darwin

package metalrt

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/progrium/darwinkit/macos/metal"
	"github.com/progrium/darwinkit/objc"

	"github.com/metalgraph/metalgraph/plan"
)

// Program is a plan compiled for the Metal runtime: its command list, its
// own step, tokens, arena and logits buffers, and the runtime's pipelines,
// weight windows and KV cache. Programs are released by Runtime.Close.
type Program struct {
	rt     *Runtime
	name   string
	n      int
	limits plan.StepLimits
	list   *CommandList
	enc    *metalEncoder

	owned  []metal.BufferObject // step, tokens, arena, logits, scratch
	step   []int32              // views of shared buffers
	tokens []int32
	logits []float32
	out    []float32 // what Run returns, a copy that outlives Close
}

func (r *Runtime) newProgram(p *plan.Plan, list *CommandList, windows []metal.BufferObject) (*Program, error) {
	if got, want := p.Buffers[plan.Logits].Size, 4*int64(p.N)*int64(p.Vocab); p.Vocab <= 0 || got < want {
		return nil, fmt.Errorf("metalrt: plan %s: the logits buffer has %d bytes, %d rows of %d logits need %d", p.Name, got, p.N, p.Vocab, want)
	}
	if got := p.Buffers[plan.Tokens].Size; got < 4*int64(p.N) {
		return nil, fmt.Errorf("metalrt: plan %s: the tokens buffer has %d bytes, %d tokens need %d", p.Name, got, p.N, 4*p.N)
	}
	prog := &Program{rt: r, name: p.Name, n: p.N, limits: plan.LimitsOf(p), list: list}
	enc := &metalEncoder{queue: r.queue, pipelines: r.pipelines, windows: windows,
		committed: make([]metal.CommandBufferObject, 0, list.CommandBuffers())}
	enc.bufs[plan.KV] = r.kv
	for _, k := range []plan.BufferKind{plan.Step, plan.Tokens, plan.Arena, plan.Logits} {
		buf, err := r.newShared(p.Buffers[k].Size, k.String()+" buffer")
		if err != nil {
			prog.release()
			return nil, err
		}
		prog.owned = append(prog.owned, buf)
		enc.bufs[k] = buf
	}
	if n := list.ScratchBytes(); n > 0 {
		buf, err := r.newShared(int64(n), "scratch buffer")
		if err != nil {
			prog.release()
			return nil, err
		}
		prog.owned = append(prog.owned, buf)
		enc.bufs[scratchBuffer] = buf
	}
	prog.step = unsafe.Slice((*int32)(enc.bufs[plan.Step].Contents()), 4) // StepParams: 4 words
	prog.tokens = unsafe.Slice((*int32)(enc.bufs[plan.Tokens].Contents()), p.N)
	prog.logits = unsafe.Slice((*float32)(enc.bufs[plan.Logits].Contents()), p.N*p.Vocab)
	prog.out = make([]float32, p.N*p.Vocab)
	prog.enc = enc
	return prog, nil
}

// N is the number of tokens each step of the program takes.
func (p *Program) N() int { return p.n }

// Run executes one step: it writes the step parameters and the tokens,
// replays the command list, waits for the GPU and returns the logits, N
// rows of the vocabulary size. The slice belongs to the program and is
// overwritten by its next Run.
func (p *Program) Run(tokens []int32, pos0 int) ([]float32, error) {
	if err := p.limits.Check(p.name, p.n, tokens, pos0); err != nil {
		return nil, fmt.Errorf("metalrt: %w", err)
	}
	r := p.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("metalrt: program %s: the runtime is closed", p.name)
	}
	if p.enc == nil {
		return nil, fmt.Errorf("metalrt: program %s is closed", p.name)
	}
	p.step[0], p.step[1], p.step[2] = int32(pos0), int32(p.n), int32(pos0+p.n)
	copy(p.tokens, tokens)
	var err error
	// Command buffers and encoders are autoreleased; Go threads have no pool.
	objc.WithAutoreleasePool(func() {
		p.enc.committed = p.enc.committed[:0]
		p.list.Replay(p.enc)
		err = p.enc.wait()
	})
	if err != nil {
		return nil, fmt.Errorf("metalrt: program %s: %w", p.name, err)
	}
	copy(p.out, p.logits)
	return p.out, nil
}

// Close frees the program's own buffers (step, tokens, arena, logits) now
// rather than when the runtime closes, so that a caller that drops step
// sizes (the engine's bounded program cache) does not keep their memory.
// The runtime's KV cache, pipelines and weight windows stay. A closed
// program refuses to run; closing it again does nothing.
func (p *Program) Close() error {
	r := p.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.enc == nil || r.closed {
		return nil
	}
	p.release()
	r.programs = slices.DeleteFunc(r.programs, func(q *Program) bool { return q == p })
	return nil
}

func (p *Program) release() {
	for _, b := range p.owned {
		b.Release()
	}
	p.owned, p.enc = nil, nil
}

// metalEncoder is the Encoder over darwinkit: each call is one message to
// the current compute command encoder.
type metalEncoder struct {
	queue     metal.CommandQueueObject
	pipelines map[string]metal.ComputePipelineStateObject
	bufs      [scratchBuffer + 1]metal.BufferObject // by plan.BufferKind, then scratch; weights unused
	windows   []metal.BufferObject

	cb        metal.CommandBufferObject
	enc       metal.ComputeCommandEncoderObject
	committed []metal.CommandBufferObject
}

func (e *metalEncoder) Begin(int) {
	// The program keeps every buffer alive: no need for Metal to retain them.
	e.cb = e.queue.CommandBufferWithUnretainedReferences()
	e.enc = e.cb.ComputeCommandEncoderWithDispatchType(metal.DispatchTypeConcurrent)
}

func (e *metalEncoder) SetPipeline(key string) { setPipeline(e.enc, e.pipelines[key]) }

func (e *metalEncoder) SetBuffer(b BufferRef, offset int64, index int) {
	buf := e.bufs[b.Kind]
	if b.Kind == plan.Weights {
		buf = e.windows[b.Window]
	}
	setBuffer(e.enc, buf, offset, index)
}

func (e *metalEncoder) SetBytes(b []byte, index int) {
	e.enc.SetBytesLengthAtIndex(unsafe.Pointer(&b[0]), uint(len(b)), uint(index))
}

func (e *metalEncoder) SetThreadgroupMemory(n, index int) {
	e.enc.SetThreadgroupMemoryLengthAtIndex(uint(n), uint(index))
}

func (e *metalEncoder) Dispatch(groups, threads [3]int) {
	e.enc.DispatchThreadgroupsThreadsPerThreadgroup(size(groups), size(threads))
}

func (e *metalEncoder) Barrier() { e.enc.MemoryBarrierWithScope(metal.BarrierScopeBuffers) }

func (e *metalEncoder) End() { endEncoding(e.enc) }

func (e *metalEncoder) Commit(int) {
	e.cb.Commit()
	e.committed = append(e.committed, e.cb)
}

// wait blocks until every committed command buffer has run (so that no
// work of this step overlaps the next) and reports the first that failed.
func (e *metalEncoder) wait() error {
	var err error
	for i, cb := range e.committed {
		cb.WaitUntilCompleted()
		if err == nil && cb.Status() == metal.CommandBufferStatusError {
			err = fmt.Errorf("command buffer %d of %d failed: %s", i, len(e.committed), errorText(cb.Error().Ptr()))
		}
	}
	return err
}

func size(v [3]int) metal.Size {
	return metal.Size{Width: uint64(v[0]), Height: uint64(v[1]), Depth: uint64(v[2])}
}
