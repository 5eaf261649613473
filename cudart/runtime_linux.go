//go:build linux

package cudart

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/metalgraph/metalgraph/plan"
)

// uploadChunk is the size of each copy of the weights to the GPU: the
// mapped file is streamed, never copied whole into memory.
const uploadChunk = 64 << 20

// Runtime executes plans on the first CUDA GPU. It owns the weights on the
// GPU, the kernels' module, one stream and the KV cache, which every
// program compiled from it shares. Runs of its programs are serialised.
type Runtime struct {
	dev     *device
	opts    Options
	weights uintptr // device copy of the model file
	size    int64
	source  string
	modules map[string]uintptr // by unit
	funcs   map[string]uintptr
	stream  uintptr

	mu       sync.Mutex // held by Compile, Run, ResetKV and Close
	kv       uintptr
	kvSize   int64
	kvLayout []plan.KVLayout
	kvSet    bool
	programs []*Program
	closed   bool
}

// New opens the GPU, compiles the kernels (or loads them from the cache)
// and uploads the weights buffer (the mapped model file) once.
func New(weights []byte, o Options) (*Runtime, error) {
	d, err := openDefault()
	if err != nil {
		return nil, err
	}
	if len(weights) == 0 {
		return nil, errors.New("cudart: empty weights buffer")
	}
	leave, err := d.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	r := &Runtime{dev: d, opts: o, size: int64(len(weights)), modules: map[string]uintptr{}, funcs: map[string]uintptr{}}
	if err := r.init(weights); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

func (r *Runtime) init(weights []byte) error {
	drv := r.dev.drv
	src, err := Source()
	if err != nil {
		return err
	}
	r.source = src
	if err := drv.check(drv.cuStreamCreate(&r.stream, 1), "cuStreamCreate"); err != nil { // CU_STREAM_NON_BLOCKING
		return fmt.Errorf("cudart: %w", err)
	}
	if err := drv.check(drv.cuMemAlloc(&r.weights, uint64(len(weights))), "cuMemAlloc"); err != nil {
		return fmt.Errorf("cudart: %d bytes of weights on %s (%d bytes): %w", len(weights), r.dev.name, r.dev.memory, err)
	}
	for off := 0; off < len(weights); off += uploadChunk {
		n := min(uploadChunk, len(weights)-off)
		if err := drv.check(drv.cuMemcpyHtoD(r.weights+uintptr(off), unsafe.Pointer(&weights[off]), uint64(n)), "uploading the weights"); err != nil {
			return fmt.Errorf("cudart: %w", err)
		}
		if r.opts.Progress != nil {
			r.opts.Progress(int64(off+n), int64(len(weights)))
		}
	}
	return nil
}

// loadUnits compiles the units the plan's kernels need and that are not
// loaded yet, in parallel (NVRTC through the on-disk cache), then loads
// them.
func (r *Runtime) loadUnits(p *plan.Plan) error {
	var units []string
	for _, d := range p.Dispatches() {
		c, _ := plan.Lookup(d.Kernel) // plan.Verify checked the names
		if u := UnitOf(c); r.modules[u] == 0 && !slices.Contains(units, u) {
			units = append(units, u)
		}
	}
	d := r.dev
	cubins := make([][]byte, len(units))
	errs := make([]error, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		wg.Go(func() {
			key := CacheKey(r.source, u, d.arch, int(d.driverVersion), d.rtc.version())
			cubins[i], _, errs[i] = cachedCubin(cacheDir(), key, func() ([]byte, error) {
				return d.rtc.compile(r.source, u, d.arch)
			})
		})
	}
	wg.Wait()
	for i, u := range units {
		if errs[i] != nil {
			return fmt.Errorf("cudart: %w", errs[i])
		}
		var m uintptr
		if err := d.drv.check(d.drv.cuModuleLoadData(&m, unsafe.Pointer(&cubins[i][0])), "loading the "+u+" kernels"); err != nil {
			return fmt.Errorf("cudart: %w", err)
		}
		r.modules[u] = m
	}
	return nil
}

// function returns a kernel from the module of the unit that holds
// contract's: the contract's own or one of a step the runtime adds.
func (r *Runtime) function(name, contract string) (uintptr, error) {
	if f, ok := r.funcs[name+"\x00"+contract]; ok {
		return f, nil
	}
	c, err := plan.Lookup(contract)
	if err != nil {
		return 0, fmt.Errorf("cudart: %w", err)
	}
	var f uintptr
	if res := r.dev.drv.cuModuleGetFunction(&f, r.modules[UnitOf(c)], name); res != 0 {
		return 0, fmt.Errorf("cudart: the CUDA kernels lack %s (%s)", name, r.dev.drv.errorName(res))
	}
	r.funcs[name+"\x00"+contract] = f
	return f, nil
}

// Name is the runtime's name in dumps and benchmarks.
func (r *Runtime) Name() string { return "cuda" }

// Device describes the GPU: its name, compute capability and memory.
func (r *Runtime) Device() string {
	return fmt.Sprintf("%s (sm_%d, %.1f GiB)", r.dev.name, r.dev.arch, float64(r.dev.memory)/(1<<30))
}

// Compile checks a plan against this runtime and prepares it to run: every
// dispatch needs a kernel and a valid launch, the weights must be as large
// as the plan says. The first plan fixes the KV cache's size and layout;
// later plans must agree.
func (r *Runtime) Compile(p *plan.Plan) (*Program, error) {
	if p == nil {
		return nil, errors.New("cudart: nil plan")
	}
	if err := plan.Verify(p); err != nil {
		return nil, fmt.Errorf("cudart: %w", err)
	}
	if p.N <= 0 {
		return nil, fmt.Errorf("cudart: plan %s has %d tokens per step", p.Name, p.N)
	}
	if need := p.Buffers[plan.Weights].Size; need > r.size {
		return nil, fmt.Errorf("cudart: plan %s needs a weights buffer of %d bytes, the runtime was given %d", p.Name, need, r.size)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("cudart: the runtime is closed")
	}
	leave, err := r.dev.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := r.loadUnits(p); err != nil {
		return nil, err
	}
	if err := r.cache(p); err != nil {
		return nil, err
	}
	prog, err := newProgram(r, p)
	if err != nil {
		return nil, err
	}
	r.programs = append(r.programs, prog)
	return prog, nil
}

// cache allocates the shared KV buffer for the first plan (zeroed) and
// checks that later plans lay it out the same way.
func (r *Runtime) cache(p *plan.Plan) error {
	size := p.Buffers[plan.KV].Size
	if !r.kvSet {
		ptr, err := r.alloc(size, "KV cache")
		if err != nil {
			return err
		}
		r.kv, r.kvSize, r.kvLayout, r.kvSet = ptr, size, slices.Clone(p.KV), true
		return nil
	}
	if err := plan.SameKV(p, r.kvSize, r.kvLayout); err != nil {
		return fmt.Errorf("cudart: %w", err)
	}
	return nil
}

// alloc returns size zeroed bytes of device memory (at least 256: CUDA
// makes no empty allocations).
func (r *Runtime) alloc(size int64, what string) (uintptr, error) {
	n := uint64(max(size, 256))
	drv := r.dev.drv
	var p uintptr
	if err := drv.check(drv.cuMemAlloc(&p, n), "cuMemAlloc"); err != nil {
		return 0, fmt.Errorf("cudart: allocating the %d-byte %s: %w", n, what, err)
	}
	if err := drv.check(drv.cuMemsetD8Async(p, 0, n, r.stream), "cuMemsetD8Async"); err != nil {
		drv.cuMemFree(p)
		return 0, fmt.Errorf("cudart: clearing the %s: %w", what, err)
	}
	return p, nil
}

// ResetKV zeroes the KV cache, for a new conversation.
func (r *Runtime) ResetKV() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.kvSet {
		return
	}
	leave, err := r.dev.enter()
	if err != nil {
		return
	}
	defer leave()
	r.dev.drv.cuMemsetD8Async(r.kv, 0, uint64(max(r.kvSize, 256)), r.stream)
	r.dev.drv.cuStreamSynchronize(r.stream)
}

// Close frees the runtime's and its programs' GPU memory; its programs
// refuse to run afterwards. The weights buffer stays the caller's.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	leave, err := r.dev.enter()
	if err != nil {
		return err
	}
	defer leave()
	if r.opts.Profile != nil {
		r.reportProfiles(r.opts.Profile)
	}
	r.release()
	return nil
}

// release frees everything the runtime holds; the context stays current.
func (r *Runtime) release() {
	drv := r.dev.drv
	if r.stream != 0 {
		drv.cuStreamSynchronize(r.stream)
	}
	for _, p := range r.programs {
		p.release()
	}
	for _, ptr := range []uintptr{r.kv, r.weights} {
		if ptr != 0 {
			drv.cuMemFree(ptr)
		}
	}
	for _, m := range r.modules {
		drv.cuModuleUnload(m)
	}
	if r.stream != 0 {
		drv.cuStreamDestroy(r.stream)
	}
	r.programs, r.kv, r.weights, r.modules, r.stream, r.funcs = nil, 0, 0, nil, 0, nil
}
