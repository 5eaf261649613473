package cpurt

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/metalgraph/metalgraph/plan"
)

// Options configure a Runtime.
type Options struct {
	// Threads is the number of workers that split each dispatch;
	// 0 means runtime.NumCPU(), and at most MaxThreads.
	Threads int
	// Tiles holds the repacked Q4_0 weights (tiles.go); runtimes over one
	// model share them by sharing a store. Nil gives the runtime its own.
	Tiles *TileStore
}

// MaxThreads is the most workers a Runtime takes: 16 per core. More only
// add switching, and each worker holds scratch, so a mistyped count
// would run the process out of memory.
func MaxThreads() int { return 16 * runtime.NumCPU() }

// Runtime executes plans on the CPU. It owns the worker pool and the KV
// cache, which every program compiled from it shares, so a prompt
// prefilled by the N = 64 program is continued by the N = 1 program.
// Runs of its programs are serialised: they share the cache.
type Runtime struct {
	weights []byte
	pool    *pool
	tiles   *TileStore

	mu       sync.Mutex // held by Run, ResetKV and Close
	kv       []byte
	kvLayout []plan.KVLayout
	kvSet    bool
	closed   bool
}

// New returns a runtime over the weights buffer (the model file, usually
// memory-mapped; it is read, never written; Q4_0 mat-vec weights are
// copied once into tiles) and starts its workers.
func New(weights []byte, o Options) (*Runtime, error) {
	if o.Threads < 0 || o.Threads > MaxThreads() {
		return nil, fmt.Errorf("cpurt: %d threads: must be between 0 (all cores) and %d", o.Threads, MaxThreads())
	}
	threads := o.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	tiles := o.Tiles
	if tiles == nil {
		tiles = NewTileStore(nil)
	}
	return &Runtime{weights: weights, pool: newPool(threads), tiles: tiles}, nil
}

// Name is the runtime's name in dumps and benchmarks.
func (r *Runtime) Name() string { return "cpu" }

// Threads is the number of workers that split each dispatch.
func (r *Runtime) Threads() int { return r.pool.workers }

// ResetKV zeroes the KV cache, for a new conversation.
func (r *Runtime) ResetKV() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.kv)
}

// Close stops the workers. Programs of a closed runtime refuse to run.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.pool.close()
	return nil
}

// Compile checks a plan against this runtime and prepares it to run: every
// dispatch's contract must have a kernel here, its bindings must fit its
// parameters, the weights buffer must be as large as the plan says. The
// first plan fixes the KV cache's size and layout; later plans must agree.
func (r *Runtime) Compile(p *plan.Plan) (*Program, error) {
	if p == nil {
		return nil, errors.New("cpurt: nil plan")
	}
	for _, d := range p.Dispatches() {
		if _, ok := kernels[d.Kernel]; !ok {
			return nil, fmt.Errorf("cpurt: plan needs kernel %q, which the CPU runtime lacks", d.Kernel)
		}
	}
	if err := plan.Verify(p); err != nil {
		return nil, fmt.Errorf("cpurt: %w", err)
	}
	if p.N <= 0 {
		return nil, fmt.Errorf("cpurt: plan %s has %d tokens per step", p.Name, p.N)
	}
	if need := p.Buffers[plan.Weights].Size; int64(len(r.weights)) < need {
		return nil, fmt.Errorf("cpurt: plan %s needs a weights buffer of %d bytes, the runtime was given %d",
			p.Name, need, len(r.weights))
	}
	kv, err := r.cache(p)
	if err != nil {
		return nil, err
	}
	return newProgram(r, p, kv)
}

// cache returns the shared KV buffer, allocating it for the first plan.
func (r *Runtime) cache(p *plan.Plan) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("cpurt: the runtime is closed")
	}
	size := p.Buffers[plan.KV].Size
	if !r.kvSet {
		r.kv, r.kvLayout, r.kvSet = alignedBytes(size), slices.Clone(p.KV), true
		return r.kv, nil
	}
	if err := plan.SameKV(p, int64(len(r.kv)), r.kvLayout); err != nil {
		return nil, fmt.Errorf("cpurt: %w", err)
	}
	return r.kv, nil
}

// alignedBytes allocates n zero bytes aligned for any element type the
// kernels view them as.
func alignedBytes(n int64) []byte {
	words := make([]uint64, (n+7)/8)
	return bytesOf(words)[:n]
}
