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

// Program is a plan compiled for the Metal runtime: its flat command
// list bound to the runtime's pipelines, weight windows and KV cache and
// to its own step, tokens, arena and logits buffers. Programs are released
// by Runtime.Close.
type Program struct {
	rt     *Runtime
	name   string
	n      int
	limits plan.StepLimits
	replay *replayer

	owned  []metal.BufferObject // step, tokens, arena, logits, scratch
	step   []int32              // views of shared buffers
	tokens []int32
	logits []float32
	out    []float32 // what Run returns, a copy that outlives Close
}

func (r *Runtime) newProgram(p *plan.Plan, flat *FlatList, windows []metal.BufferObject) (*Program, error) {
	if got, want := p.Buffers[plan.Logits].Size, 4*int64(p.N)*int64(p.Vocab); p.Vocab <= 0 || got < want {
		return nil, fmt.Errorf("metalrt: plan %s: the logits buffer has %d bytes, %d rows of %d logits need %d", p.Name, got, p.N, p.Vocab, want)
	}
	if got := p.Buffers[plan.Tokens].Size; got < 4*int64(p.N) {
		return nil, fmt.Errorf("metalrt: plan %s: the tokens buffer has %d bytes, %d tokens need %d", p.Name, got, p.N, 4*p.N)
	}
	prog := &Program{rt: r, name: p.Name, n: p.N, limits: plan.LimitsOf(p)}
	var bufs [scratchBuffer + 1]metal.BufferObject // by plan.BufferKind, then scratch; weights through windows
	bufs[plan.KV] = r.kv
	for _, k := range []plan.BufferKind{plan.Step, plan.Tokens, plan.Arena, plan.Logits} {
		buf, err := r.newShared(p.Buffers[k].Size, k.String()+" buffer")
		if err != nil {
			prog.release()
			return nil, err
		}
		prog.owned = append(prog.owned, buf)
		bufs[k] = buf
	}
	if flat.Scratch > 0 {
		buf, err := r.newShared(int64(flat.Scratch), "scratch buffer")
		if err != nil {
			prog.release()
			return nil, err
		}
		prog.owned = append(prog.owned, buf)
		bufs[scratchBuffer] = buf
	}
	prog.step = unsafe.Slice((*int32)(bufs[plan.Step].Contents()), 4) // StepParams: 4 words
	prog.tokens = unsafe.Slice((*int32)(bufs[plan.Tokens].Contents()), p.N)
	prog.logits = unsafe.Slice((*float32)(bufs[plan.Logits].Contents()), p.N*p.Vocab)
	prog.out = make([]float32, p.N*p.Vocab)
	prog.replay = newReplayer(r.queue, flat,
		func(key string) objc.Object { return r.pipelines[key].Object },
		func(b BufferRef) objc.Object {
			if b.Kind == plan.Weights {
				return windows[b.Window].Object
			}
			return bufs[b.Kind].Object
		})
	return prog, nil
}

// N is the number of tokens each step of the program takes.
func (p *Program) N() int { return p.n }

// Run executes one step: it writes the step parameters and the tokens,
// replays the command list through C, waits for the GPU and returns the
// logits, N rows of the vocabulary size. The slice belongs to the program
// and is overwritten by its next Run. A step allocates no Go memory
// (TestRunDoesNotAllocate).
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
	if p.replay == nil {
		return nil, fmt.Errorf("metalrt: program %s is closed", p.name)
	}
	p.step[0], p.step[1], p.step[2] = int32(pos0), int32(p.n), int32(pos0+p.n)
	copy(p.tokens, tokens)
	if err := p.replay.run(); err != nil {
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
	if p.replay == nil || r.closed {
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
	p.owned, p.replay = nil, nil
}
