package metalrt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metalgraph/metalgraph/plan"
)

// The emulator (mslemu/, see metal_emulation.h) is a C++ program that runs
// one dispatch of an MSL kernel on the CPU with Metal's execution model.
// These helpers generate its launch table from the parsed MSL, build it
// with g++, and run a plan's dispatch on it with the buffers, parameter
// bytes, threadgroup memory and grid that the encoder issues.

// emuBuiltins maps the thread-position attributes a kernel may take to
// run.cpp's ThreadPos fields.
var emuBuiltins = map[string]string{
	"threadgroup_position_in_grid":   "pos.tgpig",
	"thread_index_in_threadgroup":    "pos.tiitg",
	"threads_per_threadgroup":        "pos.ntg",
	"simdgroup_index_in_threadgroup": "pos.sgitg",
	"thread_index_in_simdgroup":      "pos.tiisg",
}

var reBufferAttr = regexp.MustCompile(`^buffer\((\d+)\)$`)

// reTGAttr finds the [[threadgroup(i)]] attribute, which the source given
// to g++ renames: threadgroup is an empty macro there (metal_stdlib), and
// an attribute named after it would lose its name. It is the one change
// the emulation makes to the kernels' text.
var reTGAttr = regexp.MustCompile(`\[\[\s*threadgroup\s*\(`)

// emuCType is a parameter's C++ type: address spaces dropped, the template
// parameters replaced by the instantiation's arguments.
func emuCType(p mslParam, k *mslKernel, args []string) string {
	var words []string
	for _, w := range strings.Fields(p.Type) {
		switch w {
		case "device", "constant", "threadgroup", "thread":
			continue
		}
		words = append(words, w)
	}
	t := strings.Join(words, " ")
	for i, tp := range k.TmplParams {
		t = regexp.MustCompile(`\b`+tp+`\b`).ReplaceAllString(t, args[i])
	}
	return t
}

// emuTable generates kernels.inc, run.cpp's table of launchers: per host
// name, a function that calls the kernel (instantiated) with buffer i
// cast to its parameter's type, the buffer indices it takes, whether it
// takes threadgroup memory and a mask of its constant-address-space
// buffers (loads from those are not device-memory loads).
func emuTable(src *mslSource) (string, error) {
	hosts := make([]string, 0, len(src.hosts))
	for h := range src.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	var b strings.Builder
	for _, host := range hosts {
		if len(src.hosts[host]) != 1 {
			return "", fmt.Errorf("host name %s names %d kernels", host, len(src.hosts[host]))
		}
		h := src.hosts[host][0]
		var args []string
		var indices []string
		tgmem := false
		constants := 0
		for _, p := range h.Kernel.Params {
			t := emuCType(p, h.Kernel, h.Args)
			switch m := reBufferAttr.FindStringSubmatch(p.Attr); {
			case m != nil:
				indices = append(indices, m[1])
				if slices.Contains(strings.Fields(p.Type), "constant") {
					i, _ := strconv.Atoi(m[1])
					constants |= 1 << i
				}
				if ref, ok := strings.CutSuffix(t, "&"); ok {
					args = append(args, fmt.Sprintf("*(%s*)b[%s]", ref, m[1]))
				} else {
					args = append(args, fmt.Sprintf("(%s)b[%s]", t, m[1]))
				}
			case p.Attr == "threadgroup(0)":
				tgmem = true
				args = append(args, fmt.Sprintf("(%s)tg", t))
			default:
				field, ok := emuBuiltins[p.Attr]
				if !ok {
					return "", fmt.Errorf("kernel %s: parameter %s has attribute [[%s]], which the emulator does not provide", host, p.Name, p.Attr)
				}
				args = append(args, fmt.Sprintf("%s(%s)", t, field))
			}
		}
		call := h.Kernel.Func
		if h.Args != nil {
			call += "<" + strings.Join(h.Args, ", ") + ">"
		}
		fmt.Fprintf(&b, "    {%q, [](void *const *b, void *tg, const mslemu::ThreadPos &pos) { %s(%s); }, {%s}, %v, %#x},\n",
			host, call, strings.Join(args, ", "), strings.Join(indices, ", "), tgmem, constants)
	}
	return b.String(), nil
}

// emuFlags are g++'s flags: C++20 for std::source_location; -O2; no
// fused multiply-adds the source does not ask for; char signed as in
// Metal; no type-based alias analysis, since the kernels read blocks
// through pointers of other types as MSL allows.
var emuFlags = []string{"-std=c++20", "-O2", "-ffp-contract=off", "-fsigned-char", "-fno-strict-aliasing", "-Wno-attributes"}

// emuArchFlags: on x86 the host's instruction set, for F16C: without it
// every half conversion is a library call and the cases run 6 times
// slower. The binary only runs where it is built.
func emuArchFlags() []string {
	if runtime.GOARCH == "amd64" {
		return []string{"-march=native"}
	}
	return nil
}

// emuSanitize adds AddressSanitizer and UndefinedBehaviorSanitizer
// (misaligned vector loads, overflows, shifts) when MSLEMU_SANITIZE=1:
// slower to build and run, so not the default.
func emuSanitize() bool { return os.Getenv("MSLEMU_SANITIZE") == "1" }

// emuLoadFlags build the emulator that accounts for device-memory loads
// (mslemu/loads.h): g++ instruments every access for ThreadSanitizer,
// whose runtime is not linked (loads.h has the hooks), so compiling and
// linking are separate steps. Sanitizers do not combine with it.
var emuLoadFlags = []string{"-DMSLEMU_LOADS", "-fsanitize=thread", "--param=tsan-instrument-func-entry-exit=0"}

// buildEmulator writes the library source and the launch table of files
// into dir and compiles mslemu/run.cpp with them into dir/mslemu; with
// countLoads, the emulator that also reports the kernel's loads.
func buildEmulator(ctx context.Context, gxx, dir string, files []KernelFile, countLoads bool) (bin string, took time.Duration, err error) {
	src, err := parseMSL(files)
	if err != nil {
		return "", 0, fmt.Errorf("parsing the MSL: %w", err)
	}
	table, err := emuTable(src)
	if err != nil {
		return "", 0, err
	}
	var lib strings.Builder
	for _, f := range files {
		fmt.Fprintf(&lib, "#line 1 \"%s\"\n%s", f.Name, reTGAttr.ReplaceAllString(f.Source, "[[mslemu_threadgroup("))
	}
	if err := os.WriteFile(filepath.Join(dir, "kernels.metal"), []byte(lib.String()), 0o644); err != nil {
		return "", 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kernels.inc"), []byte(table), 0o644); err != nil {
		return "", 0, err
	}
	emu, err := filepath.Abs("mslemu")
	if err != nil {
		return "", 0, err
	}
	bin = filepath.Join(dir, "mslemu")
	args := append(append(slices.Clone(emuFlags), emuArchFlags()...), "-I", emu, "-I", dir, filepath.Join(emu, "run.cpp"))
	steps := [][]string{append(args, "-o", bin)}
	switch {
	case countLoads:
		obj := bin + ".o"
		steps = [][]string{append(append(args, emuLoadFlags...), "-c", "-o", obj), {obj, "-o", bin}}
	case emuSanitize():
		steps[0] = append(steps[0], "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g")
	}
	start := time.Now()
	for _, args := range steps {
		out, err := exec.CommandContext(ctx, gxx, args...).CombinedOutput()
		if err != nil {
			return "", 0, fmt.Errorf("g++ %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return bin, time.Since(start), nil
}

var reASanFibers = regexp.MustCompile(`(?m)^==\d+==WARNING: ASan doesn't fully support makecontext/swapcontext.*\n`)

// emuEncoder is the Encoder that catches the dispatches of a plan as the
// darwin runtime would issue them, each with the state it runs with.
type emuEncoder struct {
	buffers  map[int]emuBinding
	bytes    map[int][]byte
	tgmem    int
	pipeline string
	runs     []emuCall
}

type emuBinding struct {
	ref    BufferRef
	offset int64
}

// emuCall is what one Dispatch call ran with.
type emuCall struct {
	pipeline        string
	groups, threads [3]int
	tgmem           int
	buffers         map[int]emuBinding
	bytes           map[int][]byte
}

func (e *emuEncoder) Begin(int)                     {}
func (e *emuEncoder) SetPipeline(key string)        { e.pipeline = key }
func (e *emuEncoder) SetBytes(b []byte, i int)      { e.bytes[i] = b }
func (e *emuEncoder) SetThreadgroupMemory(n, _ int) { e.tgmem = n }
func (e *emuEncoder) Barrier()                      {}
func (e *emuEncoder) End()                          {}
func (e *emuEncoder) Commit(int)                    {}
func (e *emuEncoder) SetBuffer(buf BufferRef, offset int64, index int) {
	e.buffers[index] = emuBinding{buf, offset}
}
func (e *emuEncoder) Dispatch(groups, threads [3]int) {
	e.runs = append(e.runs, emuCall{e.pipeline, groups, threads, e.tgmem, maps.Clone(e.buffers), maps.Clone(e.bytes)})
}

// emuDispatch is one dispatch as the emulator takes it (run.cpp's input).
type emuDispatch struct {
	kernel          string
	groups, threads [3]int
	tgmem           int
	buffers         []emuBuffer
}

type emuBuffer struct {
	index    int
	writable bool
	bytes    []byte
}

// encode writes d in run.cpp's input format.
func (d emuDispatch) encode() []byte {
	var b bytes.Buffer
	w32 := func(v int) { binary.Write(&b, binary.LittleEndian, uint32(v)) }
	b.WriteString("mslemu1\n")
	w32(len(d.kernel))
	b.WriteString(d.kernel)
	for _, v := range append(d.groups[:], d.threads[:]...) {
		w32(v)
	}
	w32(d.tgmem)
	w32(len(d.buffers))
	for _, buf := range d.buffers {
		w32(buf.index)
		w32(map[bool]int{false: 0, true: 1}[buf.writable])
		binary.Write(&b, binary.LittleEndian, uint64(len(buf.bytes)))
		b.Write(buf.bytes)
	}
	return b.Bytes()
}

// emuSlot is one buffer of an emulated dispatch: Length bytes at Offset of
// a plan buffer, or of the scratch buffer (Kind scratchBuffer).
type emuSlot struct {
	index int
	plan.Binding
}

// emuStep is one dispatch the encoder issues for a plan, as the emulator
// runs it, with its buffers still to be read from the plan's contents.
type emuStep struct {
	kernel          string
	groups, threads [3]int
	tgmem           int
	slots           []emuSlot
	params          []byte
	paramsIndex     int
}

// emuTakes is what a kernel of the library takes: buffer indices, and
// whether threadgroup memory (Metal keeps an encoder's threadgroup memory
// length for later dispatches, the emulator wants it only where used).
type emuTakes struct {
	buffers []int
	tgmem   bool
}

// emuKernelTakes maps each kernel of the library to what it takes.
var emuKernelTakes = sync.OnceValues(func() (map[string]emuTakes, error) {
	files, err := KernelFiles()
	if err != nil {
		return nil, err
	}
	src, err := parseMSL(files)
	if err != nil {
		return nil, err
	}
	out := map[string]emuTakes{}
	for host, hs := range src.hosts {
		var k emuTakes
		for _, p := range hs[0].Kernel.Params {
			if m := reBufferAttr.FindStringSubmatch(p.Attr); m != nil {
				i, _ := strconv.Atoi(m[1])
				k.buffers = append(k.buffers, i)
			}
			k.tgmem = k.tgmem || p.Attr == "threadgroup(0)"
		}
		out[host] = k
	}
	return out, nil
})

// emuPlanSteps is what the encoder issues for the single dispatch of p:
// its kernel, then, for a split dispatch, its reduction, each with every
// buffer the kernel takes exactly where the encoder binds it, and the
// parameter bytes at their index. It also returns the size of the scratch
// buffer the steps share.
func emuPlanSteps(p *plan.Plan, cov Covering) ([]emuStep, int, error) {
	ds := p.Dispatches()
	if len(ds) != 1 {
		return nil, 0, fmt.Errorf("plan %s has %d dispatches; the emulator runs one", p.Name, len(ds))
	}
	d := ds[0]
	l, err := NewCommandList(p, cov)
	if err != nil {
		return nil, 0, err
	}
	enc := &emuEncoder{buffers: map[int]emuBinding{}, bytes: map[int][]byte{}}
	l.Replay(enc)
	want := 1
	if SplitOf(d) != nil {
		want = 2
	}
	if len(enc.runs) != want {
		return nil, 0, fmt.Errorf("the encoder issued %d dispatches, want %d", len(enc.runs), want)
	}
	kernels, err := emuKernelTakes()
	if err != nil {
		return nil, 0, err
	}
	var steps []emuStep
	for _, r := range enc.runs {
		takes := kernels[r.pipeline]
		s := emuStep{kernel: r.pipeline, groups: r.groups, threads: r.threads, paramsIndex: len(d.Bindings)}
		if takes.tgmem {
			s.tgmem = r.tgmem
		}
		for _, i := range takes.buffers {
			if i == s.paramsIndex {
				var ok bool
				if s.params, ok = r.bytes[i]; !ok {
					return nil, 0, fmt.Errorf("%s: the encoder set no parameter bytes at index %d", r.pipeline, i)
				}
				continue
			}
			slot, err := emuSlotAt(r, i, d, cov, l.ScratchBytes())
			if err != nil {
				return nil, 0, fmt.Errorf("%s: %w", r.pipeline, err)
			}
			for _, o := range s.slots {
				if o.Buffer == slot.Buffer && (o.Write || slot.Write) && o.Offset < slot.End() && slot.Offset < o.End() {
					return nil, 0, fmt.Errorf("%s: buffers %d and %d overlap: the emulator gives each its own copy", r.pipeline, o.index, i)
				}
			}
			s.slots = append(s.slots, slot)
		}
		steps = append(steps, s)
	}
	return steps, l.ScratchBytes(), nil
}

// emuSlotAt is what run r holds at buffer index i: the plan's binding i,
// which it checks the encoder bound where the plan says, or the scratch
// buffer, which the dispatch may write.
func emuSlotAt(r emuCall, i int, d *plan.Dispatch, cov Covering, scratch int) (emuSlot, error) {
	got, ok := r.buffers[i]
	if !ok {
		return emuSlot{}, fmt.Errorf("the encoder bound nothing at index %d", i)
	}
	if got.ref.Kind == scratchBuffer {
		return emuSlot{i, plan.Binding{Buffer: scratchBuffer, Length: int64(scratch), Write: true}}, nil
	}
	if i >= len(d.Bindings) {
		return emuSlot{}, fmt.Errorf("the encoder bound %s+%d at index %d, past the plan's bindings", got.ref, got.offset, i)
	}
	b := d.Bindings[i]
	off := got.offset
	if got.ref.Kind == plan.Weights {
		off += cov[got.ref.Window].Offset
	}
	if got.ref.Kind != b.Buffer || off != b.Offset {
		return emuSlot{}, fmt.Errorf("binding %d (%s): the encoder bound %s+%d, the plan %s+%d", i, b.Value, got.ref, got.offset, b.Buffer, b.Offset)
	}
	return emuSlot{i, b}, nil
}

// dispatch is the step with its buffers' bytes from bufs (one slice per
// plan buffer kind, then the scratch buffer).
func (s emuStep) dispatch(bufs [][]byte) (emuDispatch, error) {
	out := emuDispatch{kernel: s.kernel, groups: s.groups, threads: s.threads, tgmem: s.tgmem}
	for _, b := range s.slots {
		src := bufs[b.Buffer]
		if b.End() > int64(len(src)) {
			return emuDispatch{}, fmt.Errorf("%s buffer %d (%s): %d bytes at %d in a %d-byte %s buffer", s.kernel, b.index, b.Value, b.Length, b.Offset, len(src), BufferRef{Kind: b.Buffer})
		}
		out.buffers = append(out.buffers, emuBuffer{index: b.index, writable: b.Write, bytes: src[b.Offset:b.End()]})
	}
	out.buffers = append(out.buffers, emuBuffer{index: s.paramsIndex, bytes: s.params})
	return out, nil
}

// emuRunPlan runs the dispatches the encoder issues for the single
// dispatch of p, in order, each through run (which returns its writable
// buffers), and writes their outputs into contents; the scratch buffer
// lives from one to the next.
func emuRunPlan(p *plan.Plan, cov Covering, contents [][]byte, run func(emuDispatch) ([]byte, error)) error {
	steps, scratch, err := emuPlanSteps(p, cov)
	if err != nil {
		return err
	}
	bufs := append(slices.Clone(contents[:scratchBuffer]), make([]byte, scratch))
	for _, s := range steps {
		d, err := s.dispatch(bufs)
		if err != nil {
			return err
		}
		got, err := run(d)
		if err != nil {
			return fmt.Errorf("%s: %w", s.kernel, err)
		}
		for _, b := range s.slots {
			if b.Write {
				copy(bufs[b.Buffer][b.Offset:], got[:b.Length])
				got = got[b.Length:]
			}
		}
	}
	return nil
}

// emuRun runs d on the emulator bin and returns its writable buffers, in
// order, as one byte string. The error holds the emulator's message.
func emuRun(ctx context.Context, bin string, d emuDispatch, keep string) ([]byte, error) {
	out, err := emuExec(ctx, bin, d, keep)
	if err != nil {
		return nil, err
	}
	if want := d.writableBytes(); len(out) != want {
		return nil, fmt.Errorf("the emulator returned %d bytes, want %d", len(out), want)
	}
	return out, nil
}

func (d emuDispatch) writableBytes() int {
	n := 0
	for _, b := range d.buffers {
		if b.writable {
			n += len(b.bytes)
		}
	}
	return n
}

// emuExec runs d on the emulator bin and returns its standard output.
func emuExec(ctx context.Context, bin string, d emuDispatch, keep string) ([]byte, error) {
	in := d.encode()
	if dir := os.Getenv("MSLEMU_KEEP"); dir != "" && keep != "" {
		name := strings.NewReplacer("/", "_", "=", "-").Replace(keep) + ".in"
		if err := os.WriteFile(filepath.Join(dir, name), in, 0o644); err != nil {
			return nil, err
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	err := cmd.Run()
	// ASan warns about swapcontext however the fibers are annotated.
	msg := strings.TrimSpace(reASanFibers.ReplaceAllString(stderr.String(), ""))
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, msg)
	}
	if msg != "" {
		return nil, fmt.Errorf("the emulator succeeded but wrote to stderr: %s", msg)
	}
	return stdout.Bytes(), nil
}

// runEmulator runs the single dispatch of p on the emulator bin and
// writes its outputs into contents.
func runEmulator(ctx context.Context, bin string, p *plan.Plan, cov Covering, contents [][]byte) error {
	return emuRunPlan(p, cov, contents, func(d emuDispatch) ([]byte, error) { return emuRun(ctx, bin, d, p.Name+"/"+d.kernel) })
}
