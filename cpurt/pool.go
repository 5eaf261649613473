package cpurt

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metalgraph/metalgraph/internal/fault"
)

// errWeightsFault is what a kernel's memory fault becomes: the one memory
// the kernels read that can fault is the mapped model file, when it has
// shrunk under them.
var errWeightsFault = errors.New("cpurt: reading the weights failed (the model file was truncated or changed while in use)")

// task is one parallel phase of a kernel: fn handles units [lo, hi) on
// worker w (0 is the calling goroutine), which indexes per-worker scratch.
type task func(w, lo, hi int)

// spinFor is how long a worker (or the caller, at a barrier) polls before
// it parks. A decode step of a small model is a few hundred dispatches of
// a few microseconds each: waking a parked goroutine costs about as much
// as a dispatch, polling costs nothing but a core that would idle anyway.
const spinFor = 50 * time.Microsecond

// helperMask selects the helper count in pool.gen; the runtime never has
// more workers than MaxThreads.
const helperMask = 1<<16 - 1

// pool is a fixed set of goroutines started once. run hands every worker a
// phase by bumping a generation counter; they take chunks of units from a
// shared counter (so a worker that the OS delays does not hold the rest
// back) and the caller waits for all of them before the next phase
// starts: a barrier per phase. Both sides poll briefly before they park,
// and only when the workers fit on the cores (polling for a descheduled
// goroutine wastes the core it needs).
type pool struct {
	workers int // participants, the caller included
	spin    bool

	// The current phase; written before gen is bumped, read after by the
	// workers that take part (the caller waits for them before it writes
	// the next phase).
	fn          task
	units, size int
	next        atomic.Int64

	// gen counts phases in its high bits and holds in its low 16 how many
	// helpers take part (workers 1..helpers), so that a worker sitting a
	// phase out learns it from the same load that tells it the phase
	// began. Closing bumps it too.
	gen     atomic.Uint64
	pending atomic.Int64 // helpers still working on the phase
	closed  atomic.Bool

	mu       sync.Mutex
	wake     *sync.Cond // parked workers wait here for gen to change
	finished *sync.Cond // a parked caller waits here for pending to reach 0
	sleepers int        // workers parked on wake (under mu)
	waiting  bool       // the caller is parked on finished (under mu)

	errMu sync.Mutex
	err   error // first panic of the phase, as an error
}

func newPool(workers int) *pool {
	p := &pool{workers: min(max(workers, 1), helperMask+1)}
	p.spin = p.workers <= runtime.GOMAXPROCS(0)
	p.wake = sync.NewCond(&p.mu)
	p.finished = sync.NewCond(&p.mu)
	for w := 1; w < p.workers; w++ {
		go p.loop(w)
	}
	return p
}

// run executes fn over [0, units) and returns when every unit is done.
// grain is the smallest chunk worth handing to a worker. A panic in fn
// becomes the returned error; so does a memory fault, on the workers and
// on a caller that has set debug.SetPanicOnFault (Program.Run does).
func (p *pool) run(units, grain int, fn task) error {
	if units <= 0 {
		return nil
	}
	grain = max(grain, 1)
	helpers := min(p.workers, (units+grain-1)/grain) - 1
	if helpers <= 0 {
		p.call(fn, 0, 0, units)
		return p.takeErr()
	}
	// About four chunks per participant balance uneven progress without
	// making the shared counter hot.
	p.fn, p.units = fn, units
	// Chunks are whole grains, so kernels may rely on grain-aligned
	// starts (the tiled mat-mat packs groups of eight rows).
	p.size = (max(grain, (units+4*(helpers+1)-1)/(4*(helpers+1))) + grain - 1) / grain * grain
	p.next.Store(0)
	p.pending.Store(int64(helpers))
	p.gen.Store((p.gen.Load()>>16+1)<<16 | uint64(helpers))
	p.mu.Lock()
	if p.sleepers > 0 {
		p.wake.Broadcast()
	}
	p.mu.Unlock()
	p.work(0)
	p.awaitHelpers()
	p.fn = nil
	return p.takeErr()
}

// awaitHelpers is the caller's side of the barrier.
func (p *pool) awaitHelpers() {
	if p.spin {
		start := time.Now()
		for i := 0; p.pending.Load() > 0; i++ {
			if i&63 == 63 && time.Since(start) > spinFor {
				break
			}
		}
	}
	if p.pending.Load() == 0 {
		return
	}
	p.mu.Lock()
	p.waiting = true
	for p.pending.Load() > 0 {
		p.finished.Wait()
	}
	p.waiting = false
	p.mu.Unlock()
}

// loop is worker w's life: wait for a phase, take part if the phase has
// work for it, report, repeat until the pool closes.
func (p *pool) loop(w int) {
	debug.SetPanicOnFault(true) // see call
	var seen uint64
	for {
		seen = p.awaitPhase(seen)
		if p.closed.Load() {
			return
		}
		if w > int(seen&helperMask) {
			continue
		}
		p.work(w)
		if p.pending.Add(-1) == 0 {
			p.mu.Lock()
			if p.waiting {
				p.finished.Signal()
			}
			p.mu.Unlock()
		}
	}
}

// awaitPhase returns the generation after seen, polling first. Parking
// and waking meet under the mutex: a worker counts itself a sleeper and
// looks at gen under it, and run bumps gen before it looks for sleepers
// under it, so either the worker sees the new phase or run wakes it. (A
// handshake of atomics alone, each side storing then loading, would also
// do under Go's memory model, but qemu-user's arm64 emulation lets the
// load pass the store, and workers slept through phases there.)
func (p *pool) awaitPhase(seen uint64) uint64 {
	if p.spin {
		start := time.Now()
		for i := 0; ; i++ {
			if g := p.gen.Load(); g != seen {
				return g
			}
			if i&63 == 63 && time.Since(start) > spinFor {
				break
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sleepers++
	defer func() { p.sleepers-- }()
	for {
		if g := p.gen.Load(); g != seen {
			return g
		}
		p.wake.Wait()
	}
}

func (p *pool) work(w int) {
	for {
		hi := int(p.next.Add(int64(p.size)))
		lo := hi - p.size
		if lo >= p.units {
			return
		}
		p.call(p.fn, w, lo, min(hi, p.units))
	}
}

func (p *pool) call(fn task, w, lo, hi int) {
	defer func() {
		if r := recover(); r != nil {
			err := errWeightsFault
			if !fault.Is(r) {
				err = fmt.Errorf("kernel panicked: %v\n%s", r, debug.Stack())
			}
			p.errMu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.errMu.Unlock()
		}
	}()
	fn(w, lo, hi)
}

func (p *pool) takeErr() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	err := p.err
	p.err = nil
	return err
}

// close stops the workers; the pool must not run afterwards.
func (p *pool) close() {
	if p.closed.Swap(true) {
		return
	}
	p.mu.Lock()
	p.gen.Add(1 << 16)
	p.wake.Broadcast()
	p.mu.Unlock()
}
