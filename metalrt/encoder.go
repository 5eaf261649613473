package metalrt

import (
	"fmt"

	"github.com/metalgraph/metalgraph/plan"
)

// BufferRef names one Metal buffer of a program: a plan buffer, and for
// the weights, which window of the covering (always 0 for the others).
type BufferRef struct {
	Kind   plan.BufferKind
	Window int
}

func (b BufferRef) String() string {
	switch b.Kind {
	case plan.Weights:
		return fmt.Sprintf("weights[%d]", b.Window)
	case scratchBuffer:
		return "scratch"
	}
	return b.Kind.String()
}

// scratchBuffer is the kind of the program's own scratch buffer, which no
// plan lays out: dispatches that split (SplitOf) leave partial results
// there for their reduction.
const scratchBuffer = plan.BufferKind(len(plan.Plan{}.Buffers))

// Encoder receives a plan as the calls a Metal compute command encoder
// takes. Recorder writes the calls down, so the encoding is tested on any
// OS; the darwin runtime sends the same calls from C, from the list's flat
// form (Flatten).
//
// Per command buffer the calls are Begin, then per dispatch SetPipeline,
// SetBuffer per binding, SetBytes, SetThreadgroupMemory when the kernel
// needs it, Barrier before a dispatch that must wait for earlier ones,
// Dispatch; then End and Commit.
type Encoder interface {
	// Begin starts command buffer cb and its compute encoder.
	Begin(cb int)
	// SetPipeline selects a pipeline by its key (PipelineKey).
	SetPipeline(key string)
	// SetBuffer binds offset bytes into buf at buffer index index.
	SetBuffer(buf BufferRef, offset int64, index int)
	// SetBytes passes a small constant (the parameter struct) at index.
	SetBytes(b []byte, index int)
	// SetThreadgroupMemory reserves n bytes of threadgroup memory at index.
	SetThreadgroupMemory(n, index int)
	// Dispatch launches threadgroups × threads.
	Dispatch(threadgroups, threads [3]int)
	// Barrier makes later dispatches wait for the earlier ones' buffer writes.
	Barrier()
	// End ends the encoder of the current command buffer.
	End()
	// Commit submits command buffer cb.
	Commit(cb int)
}

type opcode uint8

const (
	opBegin opcode = iota
	opPipeline
	opBuffer
	opBytes
	opThreadgroupMemory
	opBarrier
	opDispatch
	opEnd
	opCommit
)

// command is one Encoder call with its arguments.
type command struct {
	op      opcode
	key     string
	buf     BufferRef
	offset  int64
	index   int // buffer, bytes or threadgroup memory index; command buffer
	n       int // threadgroup memory bytes
	bytes   []byte
	groups  [3]int
	threads [3]int
}

// CommandList is a plan turned into Encoder calls once, at compile time:
// geometry, parameter bytes and weight windows are resolved, so replaying
// it for a step allocates nothing and looks nothing up. Everything that
// changes from step to step lives in the step and tokens buffers, whose
// contents the runtime writes before a replay; the calls stay the same.
//
// Metal's indirect command buffers could hold even these calls on the GPU
// and remove the per-step encoding; that is not done: replaying the list
// is a few Objective-C calls per dispatch.
type CommandList struct {
	cmds      []command
	pipelines []string
	buffers   int
	scratch   int // bytes
	// Per pipeline key, the most threads per threadgroup and bytes of
	// threadgroup memory any of its launches asks for.
	threads, memory map[string]int
}

// slot is what a buffer index holds in an encoder.
type slot struct {
	set    bool
	buf    BufferRef
	offset int64
}

// maxBufferIndex is the number of buffer argument slots a Metal kernel has.
const maxBufferIndex = 31

// NewCommandList encodes a plan against a covering of its weights buffer.
// Within one command buffer's encoder, a pipeline or a buffer binding that
// is already set is not set again. It fails on a dispatch whose geometry
// Geometry refuses, a weight binding the covering does not hold in one
// window, or an offset Metal cannot bind, and on plans plan.Verify refuses.
func NewCommandList(p *plan.Plan, cov Covering) (*CommandList, error) {
	if p == nil {
		return nil, fmt.Errorf("metalrt: nil plan")
	}
	if err := plan.Verify(p); err != nil {
		return nil, fmt.Errorf("metalrt: %w", err)
	}
	l := &CommandList{threads: map[string]int{}, memory: map[string]int{}}
	for ci, cb := range p.Commands {
		if len(cb.Dispatches) == 0 {
			continue
		}
		l.buffers++
		l.add(command{op: opBegin, index: ci})
		var bound [maxBufferIndex + 1]slot // what each index holds in this encoder
		pipeline := ""
		for di := range cb.Dispatches {
			d := &cb.Dispatches[di]
			launch, err := Geometry(d)
			if err != nil {
				return nil, err
			}
			if launch.ParamsIndex != len(d.Bindings) || launch.ParamsIndex > maxBufferIndex {
				return nil, fmt.Errorf("metalrt: %s (%s): %d bindings, parameters at index %d", d.Kernel, d.Node, len(d.Bindings), launch.ParamsIndex)
			}
			if key := PipelineKey(d); key != pipeline {
				pipeline = key
				l.add(command{op: opPipeline, key: key})
			}
			l.use(pipeline, launch.Threads, launch.ThreadgroupMemory)
			for i, b := range d.Bindings {
				c, err := bindingCommand(b, i, cov)
				if err != nil {
					return nil, fmt.Errorf("metalrt: %s (%s) binding %d (%s): %w", d.Kernel, d.Node, i, b.Value, err)
				}
				if bound[i] == (slot{true, c.buf, c.offset}) {
					continue
				}
				bound[i] = slot{true, c.buf, c.offset}
				l.add(c)
			}
			split := SplitOf(d)
			if split != nil {
				if s := (slot{true, BufferRef{Kind: scratchBuffer}, 0}); bound[launch.ParamsIndex+1] != s {
					bound[launch.ParamsIndex+1] = s
					l.add(command{op: opBuffer, buf: s.buf, index: launch.ParamsIndex + 1})
				}
				l.scratch = max(l.scratch, split.Scratch)
			}
			l.add(command{op: opBytes, bytes: plan.Encode(d.Params), index: launch.ParamsIndex})
			bound[launch.ParamsIndex] = slot{} // setBytes replaces a buffer bound there
			if launch.ThreadgroupMemory > 0 {
				l.add(command{op: opThreadgroupMemory, n: launch.ThreadgroupMemory})
			}
			if d.Barrier && di > 0 {
				l.add(command{op: opBarrier})
			}
			l.add(command{op: opDispatch, groups: launch.Threadgroups, threads: launch.Threads})
			if split != nil {
				pipeline = split.Kernel
				l.add(command{op: opPipeline, key: pipeline})
				l.use(pipeline, split.Threads, 0)
				l.add(command{op: opBarrier})
				l.add(command{op: opDispatch, groups: split.Threadgroups, threads: split.Threads})
			}
		}
		l.add(command{op: opEnd})
		l.add(command{op: opCommit, index: ci})
	}
	return l, nil
}

// bindingCommand binds one plan binding at buffer index i: weights through
// the covering, the other plan buffers as themselves.
func bindingCommand(b plan.Binding, i int, cov Covering) (command, error) {
	c := command{op: opBuffer, buf: BufferRef{Kind: b.Buffer}, offset: b.Offset, index: i}
	if b.Buffer == plan.Weights {
		w, off, err := cov.Locate(b.Offset, b.Length)
		if err != nil {
			return command{}, err
		}
		c.buf.Window, c.offset = w, off
	}
	if a := bindingAlign(b.Buffer); c.offset%a != 0 {
		return command{}, fmt.Errorf("offset %d into %s is not a multiple of %d", c.offset, c.buf, a)
	}
	return c, nil
}

// bindingAlign is the alignment a binding's offset needs: Metal wants
// offsets aligned to what the kernel loads through them. Weights hold
// packed blocks and rows read as 4-byte words or packed vectors; the KV
// cache and the activations are also read as aligned float4 and half4
// vectors (attention's Q·K rows), which need 16 bytes. plan_memory aligns
// those offsets to 256; this catches a layout that breaks that.
func bindingAlign(k plan.BufferKind) int64 {
	if k == plan.Weights {
		return 4
	}
	return 16
}

func (l *CommandList) add(c command) { l.cmds = append(l.cmds, c) }

// use notes that pipeline key runs with threads per threadgroup and memory
// bytes of threadgroup memory.
func (l *CommandList) use(key string, threads [3]int, memory int) {
	if _, ok := l.threads[key]; !ok {
		l.pipelines = append(l.pipelines, key)
	}
	l.threads[key] = max(l.threads[key], threads[0]*threads[1]*threads[2])
	l.memory[key] = max(l.memory[key], memory)
}

// Replay issues the list to enc.
func (l *CommandList) Replay(enc Encoder) {
	for i := range l.cmds {
		c := &l.cmds[i]
		switch c.op {
		case opBegin:
			enc.Begin(c.index)
		case opPipeline:
			enc.SetPipeline(c.key)
		case opBuffer:
			enc.SetBuffer(c.buf, c.offset, c.index)
		case opBytes:
			enc.SetBytes(c.bytes, c.index)
		case opThreadgroupMemory:
			enc.SetThreadgroupMemory(c.n, 0)
		case opBarrier:
			enc.Barrier()
		case opDispatch:
			enc.Dispatch(c.groups, c.threads)
		case opEnd:
			enc.End()
		case opCommit:
			enc.Commit(c.index)
		}
	}
}

// Pipelines lists the keys of the pipelines the list binds, in first-use
// order: the MSL functions a runtime makes pipelines of.
func (l *CommandList) Pipelines() []string { return append([]string(nil), l.pipelines...) }

// SimdWidth is the simdgroup width the kernels are written for: their
// simd_sum reductions, lane indexing and threadgroup shapes assume 32
// lanes, which every Apple GPU has so far.
const SimdWidth = 32

// PipelineLimits is what Metal reports for a kernel's compute pipeline
// and its device.
type PipelineLimits struct {
	MaxThreads   int // the pipeline's maxTotalThreadsPerThreadgroup
	SimdWidth    int // the pipeline's threadExecutionWidth
	StaticMemory int // the pipeline's staticThreadgroupMemoryLength
	DeviceMemory int // the device's maxThreadgroupMemoryLength
}

// CheckPipeline fails, naming the pipeline, if the pipeline of key runs
// simdgroups other than SimdWidth wide, or a launch of the list asks for
// more threads or threadgroup memory than it allows. The runtime checks
// every pipeline of the list (Pipelines) before it runs.
func (l *CommandList) CheckPipeline(key string, lim PipelineLimits) error {
	if lim.SimdWidth != SimdWidth {
		return fmt.Errorf("pipeline %s runs simdgroups of %d threads; the kernels assume %d", key, lim.SimdWidth, SimdWidth)
	}
	if t := l.threads[key]; t > lim.MaxThreads {
		return fmt.Errorf("pipeline %s: launches of %d threads per threadgroup; it allows %d", key, t, lim.MaxThreads)
	}
	if m := l.memory[key] + lim.StaticMemory; m > lim.DeviceMemory {
		return fmt.Errorf("pipeline %s: launches with %d bytes of threadgroup memory; the device allows %d", key, m, lim.DeviceMemory)
	}
	return nil
}

// ScratchBytes is the size of the scratch buffer the program binds: the
// most any dispatch uses. Its users share it, as attention layers are
// ordered by the barriers of the dispatches between them.
func (l *CommandList) ScratchBytes() int { return l.scratch }

// CommandBuffers is the number of command buffers a replay commits.
func (l *CommandList) CommandBuffers() int { return l.buffers }

// Len is the number of Encoder calls in a replay.
func (l *CommandList) Len() int { return len(l.cmds) }

// Encode compiles p against cov and replays it once to enc.
func Encode(p *plan.Plan, cov Covering, enc Encoder) error {
	l, err := NewCommandList(p, cov)
	if err != nil {
		return err
	}
	l.Replay(enc)
	return nil
}
