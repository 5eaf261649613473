package cpurt

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/metalgraph/metalgraph/internal/fault"
)

// errWeightsFault is what a kernel's memory fault becomes: the one memory
// the kernels read that can fault is the mapped model file, when it has
// shrunk under them.
var errWeightsFault = errors.New("cpurt: reading the weights failed (the model file was truncated or changed while in use)")

// task is one parallel phase of a kernel: fn handles units [lo, hi) on
// worker w (0 is the calling goroutine), which indexes per-worker scratch.
type task func(w, lo, hi int)

// pool is a fixed set of goroutines started once. run hands every worker a
// phase; they take chunks of units from a shared counter (so a worker that
// the OS delays does not hold the rest back) and the caller waits for all
// of them before the next phase starts: a barrier per phase.
type pool struct {
	workers int // participants, the caller included
	wake    []chan struct{}
	done    sync.WaitGroup
	closer  sync.Once

	// The current phase; written before the wake-ups, read after them.
	fn          task
	units, size int
	next        atomic.Int64

	mu  sync.Mutex
	err error // first panic of the phase, as an error
}

func newPool(workers int) *pool {
	p := &pool{workers: max(workers, 1)}
	p.wake = make([]chan struct{}, p.workers-1)
	for i := range p.wake {
		p.wake[i] = make(chan struct{})
		go func(w int, wake <-chan struct{}) {
			debug.SetPanicOnFault(true) // see call
			for range wake {
				p.work(w)
				p.done.Done()
			}
		}(i+1, p.wake[i])
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
	p.size = max(grain, (units+4*(helpers+1)-1)/(4*(helpers+1)))
	p.next.Store(0)
	p.done.Add(helpers)
	for _, c := range p.wake[:helpers] {
		c <- struct{}{}
	}
	p.work(0)
	p.done.Wait()
	p.fn = nil
	return p.takeErr()
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
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
	}()
	fn(w, lo, hi)
}

func (p *pool) takeErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.err
	p.err = nil
	return err
}

// close stops the workers; the pool must not run afterwards.
func (p *pool) close() {
	p.closer.Do(func() {
		for _, c := range p.wake {
			close(c)
		}
	})
}
