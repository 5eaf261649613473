package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/modelinfo"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/quant"
	"github.com/metalgraph/metalgraph/runtimes"
	"github.com/metalgraph/metalgraph/sample"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// runFlags are the flags shared by the commands that generate text.
type runFlags struct {
	model    string
	tokens   int
	threads  int
	ctx      int
	backend  string
	kv       string
	sampling sample.Options
	seed     int64
	// checkTensors scans the weights for NaN and infinity at load.
	checkTensors bool
	// cudaProfile receives the CUDA runtime's per-kernel times (bench --profile).
	cudaProfile io.Writer
}

func (f *runFlags) declare(fs *flag.FlagSet, defaultTokens int) {
	d := sample.Defaults()
	f.declareModel(fs, "CPU threads (0 = all cores)")
	fs.IntVar(&f.tokens, "n", defaultTokens, "number of tokens to generate")
	fs.Func("temp", fmt.Sprintf("temperature; 0 = greedy (default %g)", d.Temperature), floatFlag(&f.sampling.Temperature))
	fs.IntVar(&f.sampling.TopK, "top-k", d.TopK, "keep the K most likely tokens (0 = all)")
	fs.Func("top-p", fmt.Sprintf("nucleus sampling threshold (default %g)", d.TopP), floatFlag(&f.sampling.TopP))
	fs.Func("min-p", fmt.Sprintf("drop tokens below this share of the top probability (default %g)", d.MinP), floatFlag(&f.sampling.MinP))
	fs.Func("repeat-penalty", "penalty for tokens among the last 64 (default 1 = off)", floatFlag(&f.sampling.RepeatPenalty))
	fs.Int64Var(&f.seed, "seed", -1, "random seed (-1 = from the clock; printed with the statistics)")
	f.sampling.Temperature, f.sampling.TopP, f.sampling.MinP = d.Temperature, d.TopP, d.MinP
	f.sampling.RepeatPenalty, f.sampling.RepeatLastN = d.RepeatPenalty, d.RepeatLastN
}

// declareModel declares the flags that open a model on a backend.
func (f *runFlags) declareModel(fs *flag.FlagSet, threadsUsage string) {
	fs.StringVar(&f.model, "m", "", "model `FILE` (GGUF)")
	fs.IntVar(&f.threads, "threads", 0, threadsUsage)
	fs.IntVar(&f.ctx, "ctx", 0, fmt.Sprintf("context size in tokens (0 = the model's, at most %d)", engine.DefaultContext))
	fs.StringVar(&f.backend, "backend", "auto", "backend: "+strings.Join(runtimes.Names, ", "))
	fs.StringVar(&f.kv, "kv", "f16", "KV cache type: f16 (as llama.cpp) or f32")
	fs.BoolVar(&f.checkTensors, "check-tensors", false, "scan every weight for NaN and infinity at load (reads the whole file), like llama.cpp's")
}

func floatFlag(dst *float32) func(string) error {
	return func(s string) error {
		var v float64
		if _, err := fmt.Sscan(s, &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%q is not a number", s)
		}
		*dst = float32(v)
		return nil
	}
}

// check validates the flags, returning a usage problem or "".
func (f *runFlags) check() string {
	if f.tokens <= 0 {
		return fmt.Sprintf("-n %d: the number of tokens to generate must be positive", f.tokens)
	}
	if problem := f.checkModel(); problem != "" {
		return problem
	}
	if err := f.sampling.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

// checkModel validates the flags declareModel declares.
func (f *runFlags) checkModel() string {
	switch {
	case f.model == "":
		return "-m FILE is required"
	case f.threads < 0 || f.threads > cpurt.MaxThreads():
		return fmt.Sprintf("--threads %d: must be between 0 (all %d cores) and %d (16 per core)", f.threads, runtime.NumCPU(), cpurt.MaxThreads())
	case f.ctx < 0:
		return fmt.Sprintf("--ctx %d must be ≥ 0", f.ctx)
	case !slices.Contains(runtimes.Names, f.backend):
		return fmt.Sprintf("unknown backend %q (choose %s)", f.backend, strings.Join(runtimes.Names, ", "))
	case f.kv != "f32" && f.kv != "f16":
		return fmt.Sprintf("--kv %q: want f32 or f16", f.kv)
	}
	return ""
}

// kvType is the cache element type a checked --kv value names.
func kvType(kv string) quant.Type {
	if kv == "f32" {
		return quant.F32
	}
	return quant.F16
}

func init() {
	register(&command{
		name:    "run",
		args:    "-m FILE -p PROMPT [-n N] [--temp T --top-k K --top-p P --min-p M --repeat-penalty R --seed S] [--threads N] [--ctx N] [--backend auto|cpu|metal|cuda] [--kv f16|f32] [--check-tensors] " + specArgs,
		summary: "generate text from a prompt, printing it as it is produced (statistics on stderr)",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var f runFlags
			f.declare(fs, 128)
			var sf specFlags
			sf.declare(fs)
			prompt := fs.String("p", "", "prompt text (- reads standard input)")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q (quote the prompt and pass it with -p)", args[0])
				}
				if problem := f.check() + sf.check(); problem != "" {
					return e.usageError("%s", problem)
				}
				text := *prompt
				if text == "-" {
					var err error
					if text, err = e.readStdin(); err != nil {
						return e.fail(err)
					}
				}
				return runGenerate(e, f, sf, text)
			}
		},
	})
}

// session is an opened model ready to generate.
type session struct {
	model   *mistral.Model
	tok     *tokenizer.Tokenizer
	backend engine.Backend
	engine  *engine.Session
	// extra are the backends of more sessions on the model (serve's slots).
	extra []engine.Backend
	// tiles are the CPU runtime's repacked weights, one set for every
	// backend on the model.
	tiles *cpurt.TileStore
}

func (s *session) Close() {
	for _, b := range append([]engine.Backend{s.backend}, s.extra...) {
		if b != nil {
			b.Close()
		}
	}
	s.model.Close()
}

// cudaPrefillChunk is the CUDA backend's prefill step, llama.cpp's default
// micro-batch: at the engine's 64 tokens a step, a 4096-row projection
// gave the GPU's 132 SMs 6% occupancy (ncu), 8 times fewer blocks.
const cudaPrefillChunk = 512

// prefillChunk is the prefill step for a backend: the engine's default
// (0) but on CUDA.
func prefillChunk(backend string) int {
	if backend == "cuda" {
		return cudaPrefillChunk
	}
	return 0
}

// openSession maps the model, reads its tokenizer, opens the backend and
// prepares an engine session, reporting each stage on stderr.
func openSession(e *env, f runFlags, o engine.Options) (*session, error) {
	start := time.Now()
	file, err := openGGUF(f.model)
	if err != nil {
		return nil, err
	}
	m, err := mistral.FromFile(file)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%s: %w", f.model, err)
	}
	s := &session{model: m}
	if f.checkTensors {
		if err := checkTensors(e, m); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: %w", f.model, err)
		}
	}
	if s.tok, err = tokenizer.FromGGUF(file); err != nil {
		s.Close()
		return nil, err
	}
	m.Config.KVType = kvType(f.kv)
	s.tiles = runtimes.NewTiles(file.Release)
	ro := runtimes.Options{Threads: f.threads, Tiles: s.tiles, CUDAProfile: f.cudaProfile}
	var upload *progress // shown by GPU runtimes that copy the weights
	if file.Size() >= prefaultThreshold {
		upload = newProgress(e.stderr, "uploading "+f.model)
		ro.Progress = upload.update
	}
	s.backend, err = runtimes.Open(f.backend, file.Bytes(), ro)
	if upload != nil {
		upload.end()
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	o.Context = f.ctx
	if o.PrefillChunk == 0 {
		o.PrefillChunk = prefillChunk(s.backend.Name())
	}
	if s.engine, err = engine.NewSession(m, s.backend, o); err != nil {
		s.Close()
		return nil, err
	}
	// A context too large for memory fails before the weights are read in;
	// then the file is read in with a progress line, and only then is the
	// decode step compiled, which allocates the KV cache and repacks the
	// CPU runtime's Q4_0 weights from the page cache.
	if err = s.engine.CheckFits(1); err != nil {
		s.Close()
		return nil, err
	}
	if file.Size() >= prefaultThreshold {
		p := newProgress(e.stderr, "loading "+f.model)
		err := file.Prefault(p.update)
		p.end()
		if err != nil {
			s.Close()
			return nil, err
		}
	}
	if err = s.engine.Warm(1); err != nil {
		s.Close()
		return nil, err
	}
	fmt.Fprintf(e.stderr, "model %s: %s, %d layers, %d-token context, %s loaded in %s; backend %s\n",
		f.model, modelName(m.Config), m.Config.Layers, s.engine.Config().Context,
		modelinfo.FormatBytes(file.Size()), time.Since(start).Round(10*time.Microsecond), s.backend.Name())
	return s, nil
}

// prefaultThreshold: files at least this large are read in up front with a
// progress line, so the first token does not wait for page faults.
const prefaultThreshold = 256 << 20

func modelName(c mistral.Config) string {
	if c.Name != "" {
		return modelinfo.Printable(c.Name)
	}
	return c.Arch
}

func runGenerate(e *env, f runFlags, sf specFlags, prompt string) int {
	s, spec, closeAll, err := sf.openWithDrafter(e, f)
	if err != nil {
		return e.fail(err)
	}
	defer closeAll()
	seed := f.seed
	if seed < 0 {
		seed = time.Now().UnixNano() & math.MaxInt32
	}
	f.sampling.Seed = uint64(seed)
	wrote := false
	// A failed write of the text stops generation and fails the run: no
	// statistics, one line.
	st, err := engine.Generate(s.engine, s.tok, prompt, engine.GenerateOptions{
		MaxTokens:   f.tokens,
		Sampling:    f.sampling,
		Speculation: spec,
		OnText: func(t string) error {
			wrote = true
			_, err := io.WriteString(e.stdout, t)
			return err
		},
	})
	if wrote && err == nil {
		_, err = io.WriteString(e.stdout, "\n")
	}
	if err != nil {
		return e.fail(err)
	}
	printStats(e.stderr, st, seed)
	if spec != nil {
		printSpecStats(e.stderr, st.Spec, st.GenTPS())
	}
	return 0
}

func printStats(w io.Writer, st engine.Stats, seed int64) {
	fmt.Fprintf(w, "prompt: %d tokens in %s (%.1f tokens/s) · first token after %s\n",
		st.PromptTokens, st.PromptTime.Round(time.Microsecond), st.PromptTPS(), st.TimeToFirstToken.Round(time.Microsecond))
	fmt.Fprintf(w, "generated: %d tokens in %s (%.1f tokens/s) · stop: %s · seed %d\n",
		st.Generated, st.GenTime.Round(time.Microsecond), st.GenTPS(), st.StopReason, seed)
	if st.StopReason == engine.StopContext {
		fmt.Fprintln(w, "note: generation stopped because the context is full; raise --ctx for longer output")
	}
}
