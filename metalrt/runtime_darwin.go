//go:build darwin

package metalrt

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/progrium/darwinkit/macos/metal"
	"github.com/progrium/darwinkit/objc"

	"github.com/metalgraph/metalgraph/plan"
)

// Runtime executes plans on the system's Metal device. It owns the
// device, the queue, the kernel library and its pipelines, the no-copy
// buffers over the weights and the KV cache, which every program compiled
// from it shares (a prompt prefilled by the N = 64 program continues with
// the N = 1 program). Runs of its programs are serialised.
type Runtime struct {
	weights []byte
	page    int64
	maxLen  int64

	dev   metal.DeviceObject
	queue metal.CommandQueueObject
	lib   metal.LibraryObject

	mu        sync.Mutex // held by Compile, Run, ResetKV and Close
	pipelines map[string]metal.ComputePipelineStateObject
	windows   map[Window]metal.BufferObject
	kv        metal.BufferObject
	kvSize    int64
	kvLayout  []plan.KVLayout
	programs  []*Program
	closed    bool
}

// New opens the default Metal device over the weights buffer (the model
// file, memory-mapped: page-aligned, read in place by no-copy buffers,
// never copied) and compiles the kernel library.
func New(weights []byte, o Options) (*Runtime, error) {
	if len(weights) == 0 {
		return nil, errors.New("metalrt: empty weights buffer")
	}
	page := int64(os.Getpagesize())
	if uintptr(unsafe.Pointer(&weights[0]))%uintptr(page) != 0 {
		return nil, fmt.Errorf("metalrt: the weights buffer at %p is not page-aligned (%d bytes); Metal wraps only memory-mapped, page-aligned weights", &weights[0], page)
	}
	if o.MaxBufferLength < 0 {
		return nil, fmt.Errorf("metalrt: maximum buffer length %d: must be 0 (the device's) or positive", o.MaxBufferLength)
	}
	dev, err := defaultDevice()
	if err != nil {
		return nil, err
	}
	r := &Runtime{weights: weights, page: page, dev: dev,
		pipelines: map[string]metal.ComputePipelineStateObject{}, windows: map[Window]metal.BufferObject{}}
	r.maxLen = int64(dev.MaxBufferLength())
	if o.MaxBufferLength > 0 {
		r.maxLen = min(r.maxLen, o.MaxBufferLength)
	}
	if err := respondsToAll(dev.Object, "Metal device", deviceSelectors); err != nil {
		dev.Release()
		return nil, err
	}
	err = withPool(func() error {
		r.queue = dev.NewCommandQueue()
		if r.queue.IsNil() {
			return errors.New("metalrt: the device made no command queue")
		}
		if err := checkReplay(r.queue); err != nil {
			return err
		}
		var err error
		r.lib, err = compileLibrary(dev)
		return err
	})
	if err != nil {
		r.release()
		return nil, err
	}
	registerReplaySelectors()
	return r, nil
}

// checkReplay asks a command queue, a command buffer and a compute encoder
// whether they implement the messages the C replay sends them, before any
// is sent: an unknown selector would abort the process.
func checkReplay(q metal.CommandQueueObject) error {
	if err := respondsToAll(q.Object, "command queue", queueSelectors); err != nil {
		return err
	}
	cb := q.CommandBufferWithUnretainedReferences()
	if cb.IsNil() {
		return errors.New("metalrt: the command queue made no command buffer")
	}
	if err := respondsToAll(cb.Object, "command buffer", commandBufferSelectors); err != nil {
		return err
	}
	enc := cb.ComputeCommandEncoderWithDispatchType(metal.DispatchTypeConcurrent)
	if enc.IsNil() {
		return errors.New("metalrt: the command buffer made no compute encoder")
	}
	if err := checkEncoder(enc.Object, "compute command encoder", encoderSelectors); err != nil {
		return err
	}
	blit := cb.BlitCommandEncoder()
	if blit.IsNil() {
		return errors.New("metalrt: the command buffer made no blit encoder")
	}
	return checkEncoder(blit.Object, "blit command encoder", blitSelectors)
}

// checkEncoder checks an encoder's selectors and ends it: a command buffer
// whose encoder is left open may not be released.
func checkEncoder(enc objc.Object, what string, sels []string) error {
	err := respondsToAll(enc, what, sels)
	if enc.RespondsToSelector(sEndEncoding) {
		endEncoding(enc)
	}
	return err
}

// compileLibrary compiles the embedded MSL source with the language
// version the kernels are written for, set explicitly, and no fast math
// (+1).
func compileLibrary(dev metal.DeviceObject) (metal.LibraryObject, error) {
	src, err := LibrarySource()
	if err != nil {
		return metal.LibraryObject{}, err
	}
	version, err := mslVersion(LanguageVersion)
	if err != nil {
		return metal.LibraryObject{}, err
	}
	opts := metal.NewCompileOptions() // autoreleased: not ours to release
	opts.SetLanguageVersion(metal.LanguageVersion(version))
	opts.SetFastMathEnabled(false)
	var nsErr unsafe.Pointer
	lib := dev.NewLibraryWithSourceOptionsError(src, opts, unsafe.Pointer(&nsErr))
	if lib.IsNil() {
		return lib, fmt.Errorf("metalrt: compiling the MSL kernels: %s", errorText(nsErr))
	}
	return lib, nil
}

// Name is the runtime's name in dumps and benchmarks.
func (r *Runtime) Name() string { return "metal" }

// Compile checks a plan against this runtime and prepares it to run:
// every contract it names needs a kernel in the library, every launch must
// fit its pipeline's limits, the weights must cover the plan's weights
// buffer. The first plan fixes the KV cache's size and layout; later plans
// must agree.
func (r *Runtime) Compile(p *plan.Plan) (*Program, error) {
	if p == nil {
		return nil, errors.New("metalrt: nil plan")
	}
	if p.N <= 0 {
		return nil, fmt.Errorf("metalrt: plan %s has %d tokens per step", p.Name, p.N)
	}
	size := p.Buffers[plan.Weights].Size
	if size <= 0 || size > int64(len(r.weights)) {
		return nil, fmt.Errorf("metalrt: plan %s needs a weights buffer of %d bytes, the runtime was given %d", p.Name, size, len(r.weights))
	}
	cov, err := Cover(size, r.page, r.maxLen, Extents(p))
	if err != nil {
		return nil, fmt.Errorf("metalrt: plan %s: %w", p.Name, err)
	}
	list, err := NewCommandList(p, cov)
	if err != nil {
		return nil, err
	}
	flat, err := list.Flatten()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("metalrt: the runtime is closed")
	}
	var prog *Program
	err = withPool(func() error {
		if err := r.makePipelines(p, list); err != nil {
			return err
		}
		windows, err := r.makeWindows(cov)
		if err != nil {
			return err
		}
		if err := r.makeKV(p); err != nil {
			return err
		}
		prog, err = r.newProgram(p, flat, windows)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.programs = append(r.programs, prog)
	return prog, nil
}

// makePipelines makes every pipeline the list binds, refusing the plan if
// the library lacks the function of any (naming them all), a pipeline's
// simdgroups are not 32 wide, or a launch exceeds a pipeline's threads or
// the device's threadgroup memory.
func (r *Runtime) makePipelines(p *plan.Plan, l *CommandList) error {
	var missing []string
	for _, key := range l.Pipelines() {
		if _, ok := r.pipelines[key]; ok {
			continue
		}
		f := r.lib.NewFunctionWithName(key)
		if f.IsNil() {
			missing = append(missing, key)
			continue
		}
		ps, err := newPipeline(r.dev, f)
		f.Release()
		if err != nil {
			return fmt.Errorf("metalrt: pipeline %s: %w", key, err)
		}
		r.pipelines[key] = ps
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("metalrt: plan %s needs functions the Metal library lacks: %s", p.Name, strings.Join(missing, ", "))
	}
	maxMem := int(r.dev.MaxThreadgroupMemoryLength())
	for _, key := range l.Pipelines() {
		ps := r.pipelines[key]
		lim := PipelineLimits{MaxThreads: int(ps.MaxTotalThreadsPerThreadgroup()), SimdWidth: int(ps.ThreadExecutionWidth()),
			StaticMemory: int(ps.StaticThreadgroupMemoryLength()), DeviceMemory: maxMem}
		if err := l.CheckPipeline(key, lim); err != nil {
			return fmt.Errorf("metalrt: plan %s: %w", p.Name, err)
		}
	}
	return nil
}

// makeWindows returns the no-copy buffers of a covering, made once per
// window: plans of one model share their covering.
func (r *Runtime) makeWindows(cov Covering) ([]metal.BufferObject, error) {
	base := unsafe.Pointer(&r.weights[0])
	out := make([]metal.BufferObject, len(cov))
	for i, w := range cov {
		buf, ok := r.windows[w]
		if !ok {
			// The last window may end past the file, inside its last mapped
			// page. The weights are only read: no hazard tracking.
			buf = newNoCopyBuffer(r.dev, unsafe.Add(base, w.Offset), w.Length,
				metal.ResourceStorageModeShared|metal.ResourceHazardTrackingModeUntracked)
			if buf.IsNil() {
				return nil, fmt.Errorf("metalrt: no-copy buffer of %d bytes at file offset %d failed", w.Length, w.Offset)
			}
			r.windows[w] = buf
		}
		out[i] = buf
	}
	return out, nil
}

// makeKV allocates the shared KV cache for the first plan and checks that
// later plans lay it out the same way.
func (r *Runtime) makeKV(p *plan.Plan) error {
	size := p.Buffers[plan.KV].Size
	if r.kv.IsNil() {
		kv, err := r.newShared(size, "KV cache")
		if err != nil {
			return err
		}
		r.kv, r.kvSize, r.kvLayout = kv, size, slices.Clone(p.KV)
		return nil
	}
	if err := plan.SameKV(p, r.kvSize, r.kvLayout); err != nil {
		return fmt.Errorf("metalrt: %w", err)
	}
	return nil
}

// newShared allocates a buffer in shared storage (+1), which the CPU
// writes (step, tokens) or reads (logits) in place. Metal zero-fills new
// buffers, so nothing is cleared here: the KV cache starts as the zeros
// ResetKV leaves (and attention reads no row above a step's last
// position), and clearing it on the CPU would touch every page of it, 4 GiB
// for a 7B model at 32K positions. Metal makes no empty buffers, so an
// empty plan buffer gets 16 bytes.
func (r *Runtime) newShared(size int64, what string) (metal.BufferObject, error) {
	n := max(size, 16)
	buf := r.dev.NewBufferWithLengthOptions(uint(n), metal.ResourceStorageModeShared)
	if buf.IsNil() {
		return buf, fmt.Errorf("metalrt: allocating the %d-byte %s failed", n, what)
	}
	return buf, nil
}

// ResetKV zeroes the KV cache, for a new conversation: a step then sees
// zeros at positions no step of the new conversation wrote, as on the
// other runtimes (runtimecheck.CheckResetKV, TestResetKV on a Mac). The GPU
// fills it with a blit rather than the CPU walking through it; should the
// blit fail, the CPU clears it, since ResetKV has no error to return.
func (r *Runtime) ResetKV() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kv.IsNil() || r.closed {
		return
	}
	n := max(r.kvSize, 16)
	if err := zeroOnGPU(r.queue, r.kv, n); err != nil {
		clear(unsafe.Slice((*byte)(r.kv.Contents()), n))
	}
}

// Close releases every Metal object of the runtime and of its programs,
// which refuse to run afterwards. The weights stay the caller's.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.release()
	return nil
}

// release drops every +1 object the runtime holds.
func (r *Runtime) release() {
	for _, p := range r.programs {
		p.release()
	}
	for _, b := range r.windows {
		b.Release()
	}
	for _, ps := range r.pipelines {
		ps.Release()
	}
	for _, o := range []objc.Object{r.kv.Object, r.lib.Object, r.queue.Object, r.dev.Object} {
		if !o.IsNil() {
			o.Release()
		}
	}
	r.programs, r.windows, r.pipelines = nil, nil, nil
}
