package cudart

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/internal/runtimecheck"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// buildEmulator compiles the kernels with g++ against
// emulator/cuda_emulation.h, with emulator/run.cpp and a table that calls
// each entry point from packed arguments (generated from the
// preprocessed source), and returns the runner's path.
func buildEmulator(t *testing.T) string {
	t.Helper()
	entries := entryPoints(t, preprocessed(t))
	src, err := Source()
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("#include \"cuda_emulation.h\"\n")
	b.WriteString(src)
	b.WriteString("\n#line 1 \"dispatch\"\nstruct EmuKernel { const char *name; void (*call)(char *, const unsigned char *); };\n")
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// Pointers at 8-byte offsets, the parameter struct where it falls
		// (args.go's layout).
		var args []string
		off := 0
		for _, p := range entries[n] {
			if i := strings.LastIndex(p, "*"); i >= 0 {
				off = (off + 7) / 8 * 8
				args = append(args, fmt.Sprintf("(%s)(base + *(const unsigned long long *)(a + %d))", p[:i+1], off))
				off += 8
				continue
			}
			typ := strings.Fields(p)[1] // "const MatParams p"
			args = append(args, fmt.Sprintf("*(const %s *)(a + %d)", typ, off))
			off += paramsSize(t, typ)
		}
		fmt.Fprintf(&b, "static void call_%s(char *base, const unsigned char *a) { %s(%s); }\n", n, n, strings.Join(args, ", "))
	}
	b.WriteString("extern const EmuKernel emu_kernels[] = {\n")
	for _, n := range names {
		fmt.Fprintf(&b, "    {\"%s\", call_%s},\n", n, n)
	}
	fmt.Fprintf(&b, "};\nextern const int emu_nkernels = %d;\n", len(names))

	dir := t.TempDir()
	gen := filepath.Join(dir, "kernels.cpp")
	require.NoError(t, os.WriteFile(gen, []byte(b.String()), 0o644))
	emu, err := filepath.Abs("emulator")
	require.NoError(t, err)
	bin := filepath.Join(dir, "run")
	args := []string{"-std=c++20", "-O1", "-ffp-contract=off", "-DCUDART_EMULATION", "-I", emu, "-o", bin,
		filepath.Join(emu, "run.cpp"), gen}
	for _, wt := range plan.WeightTypes {
		args = append(args, "-DMAT_"+strings.ToUpper(wt.String()))
	}
	start := time.Now()
	out, err := exec.Command("g++", args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("g++ built the emulated kernels in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// entryPoints parses the preprocessed source's entry points: name →
// parameter declarations.
func entryPoints(t *testing.T, src string) map[string][]string {
	t.Helper()
	entries := map[string][]string{}
	for _, m := range entryRE.FindAllStringSubmatch(src, -1) {
		require.NotContains(t, entries, m[1], "two entry points named %s", m[1])
		var params []string
		for _, p := range strings.Split(m[2], ",") {
			params = append(params, strings.Join(strings.Fields(p), " "))
		}
		entries[m[1]] = params
	}
	return entries
}

// paramsSize is the size of the parameter struct named typ.
func paramsSize(t *testing.T, typ string) int {
	for _, c := range plan.Contracts() {
		if reflect.TypeOf(c.Params).Name() == typ {
			return len(plan.Encode(c.Params))
		}
	}
	t.Fatalf("no parameter struct %s", typ)
	return 0
}

// emulate runs a one-dispatch plan's launches (Steps) on the emulator over
// an image of its buffers (weights from w, the step's parameters and
// tokens, then the scratch) and returns the logits buffer afterwards.
func emulate(t *testing.T, bin string, p *plan.Plan, w []byte, tokens []int32, pos0 int) []float32 {
	t.Helper()
	var offs [len(p.Buffers)]int64
	var size int64
	for k, buf := range p.Buffers {
		offs[k] = size
		size += (max(buf.Size, 16) + 255) / 256 * 256
	}
	d := &p.Commands[0].Dispatches[0]
	scratch := size
	img := make([]byte, size+ScratchBytes(d))
	copy(img[offs[plan.Weights]:], w)
	step := img[offs[plan.Step]:]
	for i, v := range []int32{int32(pos0), int32(p.N), int32(pos0 + p.N)} {
		binary.LittleEndian.PutUint32(step[4*i:], uint32(v))
	}
	for i, tok := range tokens {
		binary.LittleEndian.PutUint32(img[offs[plan.Tokens]+4*int64(i):], uint32(tok))
	}
	ptrs := make([]uint64, len(d.Bindings))
	for i, b := range d.Bindings {
		ptrs[i] = uint64(offs[b.Buffer] + b.Offset)
	}
	steps, err := Steps(d, ptrs, uint64(scratch))
	require.NoError(t, err)
	var spec strings.Builder
	for _, s := range steps {
		l := s.Launch
		fmt.Fprintf(&spec, "%s %d %d %d %d %d %s\n", s.Kernel, l.Grid[0], l.Grid[1], l.Grid[2], l.Block[0], l.Shared,
			hex.EncodeToString(s.Args))
	}
	dir := t.TempDir()
	job, image := filepath.Join(dir, "job"), filepath.Join(dir, "image")
	require.NoError(t, os.WriteFile(job, []byte(spec.String()), 0o644))
	require.NoError(t, os.WriteFile(image, img, 0o644))
	out, err := exec.Command(bin, job, image).CombinedOutput()
	require.NoError(t, err, "%s", out)
	img, err = os.ReadFile(image)
	require.NoError(t, err)
	logits := make([]float32, p.Buffers[plan.Logits].Size/4)
	for i := range logits {
		logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(img[offs[plan.Logits]+4*int64(i):]))
	}
	return logits
}

// TestKernelsOnEmulator runs every op case's CUDA kernel, with the launch
// the runtime issues, on the CPU emulation of CUDA's execution model and
// compares each output with the CPU runtime's within the case's bound:
// the kernels' logic (indexing, tails, shared-memory tiles, warp
// reductions, barriers) is checked where CI runs, without a GPU.
func TestKernelsOnEmulator(t *testing.T) {
	bin := buildEmulator(t)
	cases, weights := opcases.All()
	emulateAgainstCPU(t, bin, cases, weights)
}

// emulateAgainstCPU runs each case on the emulator bin and on the CPU
// runtime and checks that they agree within the case's bound.
func emulateAgainstCPU(t *testing.T, bin string, cases []opcases.Case, weights []byte) {
	cpu, err := cpurt.New(weights, cpurt.Options{Threads: 2})
	require.NoError(t, err)
	defer cpu.Close()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			prog, err := cpu.Compile(c.Plan)
			require.NoError(t, err)
			want, err := prog.Run(c.Tokens, c.Pos0)
			require.NoError(t, err)
			runtimecheck.AssertAgrees(t, c, emulate(t, bin, c.Plan, weights, c.Tokens, c.Pos0), want)
		})
	}
}

// TestTileShapesOnEmulator runs the int8 mat-vec (Q4_0, Q8_0) on rows
// wider than its shared tile, so the activations are quantised in two
// tiles, with rows that fill one block and part of a second; the float
// mat-vecs on rows of 100 columns, so rows start off 16-byte boundaries
// and end in a partial chunk; and the tensor-core matmuls on rows whose last column stage is partial (Q4_0
// and Q8_0: 9 blocks, so rows are read in halves; 10, read in words; F16
// and BF16: 9 chunks of 32, half a stage of 64 left; Q6_K: 24 of a tile's
// 16), over two token blocks and rows filling part of one or two row
// blocks.
func TestTileShapesOnEmulator(t *testing.T) {
	bin := buildEmulator(t)
	var w opcases.Weights
	var cases []opcases.Case
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0} {
		for _, fam := range []string{"matvec@acc", "matvec@gate_up"} {
			cases = append(cases, opcases.Mat(&w, plan.Name(fam, typ)+"/wide", fam, typ, 40, 32*(mvqTileBlocks+16), 1))
		}
		for _, fam := range []string{"matmul@qkv", "matmul@gate_up"} {
			cases = append(cases, opcases.Mat(&w, plan.Name(fam, typ)+"/partial", fam, typ, 72, 32*9, 70))
			cases = append(cases, opcases.Mat(&w, plan.Name(fam, typ)+"/aligned", fam, typ, 136, 32*10, 70))
		}
	}
	for _, typ := range []quant.Type{quant.F32, quant.F16, quant.BF16} {
		cases = append(cases, opcases.Mat(&w, plan.Name("matvec@gate_up", typ)+"/unaligned", "matvec@gate_up", typ, 40, 100, 1))
	}
	for _, typ := range []quant.Type{quant.F16, quant.BF16} {
		for _, fam := range []string{"matmul@acc", "matmul@qkv", "matmul@gate_up"} {
			cases = append(cases, opcases.Mat(&w, plan.Name(fam, typ)+"/partial", fam, typ, 136, 32*9, 70))
		}
	}
	for _, typ := range []quant.Type{quant.Q4_K, quant.Q5_K} {
		cases = append(cases, opcases.Mat(&w, plan.Name("matmul@gate_up", typ)+"/two-blocks", "matmul@gate_up", typ, 200, 768, 70))
	}
	cases = append(cases, opcases.Mat(&w, "matmul_q6_k_gate_up/partial", "matmul@gate_up", quant.Q6_K, 72, 768, 40))
	emulateAgainstCPU(t, bin, cases, w.Finish(cases))
}

// f32FloatCases hold the F32 tensor-core matmul (three TF32 products,
// mmtf32.cu) to a bound a single TF32 or half product misses by orders of
// magnitude: 10 bits of mantissa leave an NMSE near 1e-7, the three
// products near 1e-13 (on the emulator; the GPU's sums may round less
// well, hence 1e-10).
func f32FloatCases() ([]opcases.Case, []byte) {
	var w opcases.Weights
	var cases []opcases.Case
	for _, fam := range []string{"matmul", "matmul@gate_up"} {
		c := opcases.Mat(&w, plan.Name(fam, quant.F32)+"/float", fam, quant.F32, 136, 32*9, 70)
		c.NMSE = 1e-10
		cases = append(cases, c)
	}
	return cases, w.Finish(cases)
}

func TestF32MatmulKeepsFloatAccuracy(t *testing.T) {
	cases, weights := f32FloatCases()
	emulateAgainstCPU(t, buildEmulator(t), cases, weights)
}
