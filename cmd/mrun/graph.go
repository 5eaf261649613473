package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

func init() {
	register(&command{
		name: "graph",
		args: "-m FILE [--tokens N] [--ctx N] [--kv f16|f32] [--after PASS|all | --plan] [--passes] [--disable P1,P2] [-o out.dot|out.svg|DIR/ [--force]] [--collapse]",
		summary: "draw a model's graph for a step of N tokens (as built, or after an optimisation pass) or its plan " +
			"as Graphviz DOT or SVG, and tabulate what each pass does",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var o graphOptions
			fs.StringVar(&o.model, "m", "", "model `FILE` to draw")
			fs.StringVar(&o.model, "model", "", "model `FILE` (same as -m)")
			fs.IntVar(&o.tokens, "tokens", 1, "tokens per step, `N`: 1 is the decode step, more a prefill or verification step")
			fs.IntVar(&o.ctx, "ctx", 0, fmt.Sprintf("KV cache positions `N` to plan for (0 = the model's context, at most %d, as the engine does)", engine.DefaultContext))
			fs.StringVar(&o.kv, "kv", "f16", "KV cache element `TYPE`, f16 or f32, as run's --kv")
			fs.StringVar(&o.out, "o", "", "write to `FILE`: .dot or .gv for DOT, .svg rendered by Graphviz's dot (default: DOT on standard output); "+
				"with --after all, one file per pass beside it, out.NN-PASS.dot (NN its place in the pipeline, 00-build the graph as built); "+
				"a directory DIR/ (created if missing) holds DIR/NN-PASS.dot; files must not exist (see --force)")
			fs.BoolVar(&o.force, "force", false, "replace output files that exist (regular files only)")
			fs.BoolVar(&o.collapse, "collapse", false, "draw each run of identical blocks once, labelled with its count")
			fs.StringVar(&o.after, "after", "", "draw the graph after `PASS` instead of as built; all draws it after every pass, "+
				"on standard output as consecutive digraphs separated by a blank line; each follows a '// after NN PASS' comment line, "+
				"NN the pass's place in the pipeline ("+strings.Join(passes.Names(), ", ")+")")
			fs.BoolVar(&o.plan, "plan", false, "draw the plan that the whole pipeline makes: its command buffers, dispatches and barriers; "+
				"and state its cost: the bytes a step moves per token (weights, KV cache with --ctx positions, activations) and "+
				"the dispatches and barriers of each command buffer, as '// ' lines before the DOT on standard output, or after the 'wrote' line with -o")
			fs.BoolVar(&o.passes, "passes", false, "print a table of the passes (time, nodes before and after) and of the plan "+
				"(dispatches, barriers, command buffers, arena, KV cache, bytes read per step); alone, it draws nothing")
			fs.StringVar(&o.disable, "disable", "", "skip the comma-separated `PASSES`, to see what they buy (with --after, --plan or --passes)")
			return func(e *env, args []string) int {
				if err := o.check(args); err != nil {
					return e.usageError("%v", err)
				}
				return drawGraph(e, o)
			}
		},
	})
}

// graphOptions are the graph command's flags.
type graphOptions struct {
	model    string
	tokens   int
	ctx      int
	kv       string
	out      string
	force    bool
	collapse bool
	after    string
	plan     bool
	passes   bool
	disable  string
}

func (o graphOptions) check(args []string) error {
	switch {
	case o.model == "":
		return errors.New("-m FILE is required")
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q (the model is given with -m)", args)
	case o.tokens < 1:
		return fmt.Errorf("--tokens %d: a step has at least one token", o.tokens)
	case o.ctx < 0:
		return fmt.Errorf("--ctx %d: must be positive (or 0 for the default)", o.ctx)
	case o.kv != "f32" && o.kv != "f16":
		return fmt.Errorf("--kv %q: want f32 or f16", o.kv)
	case o.after != "" && o.plan:
		return errors.New("--after and --plan draw different pictures; choose one")
	case o.passes && o.out == "" && (o.after != "" || o.plan):
		return errors.New("--passes prints a table on standard output; write the picture to a file with -o")
	case o.disable != "" && o.after == "" && !o.plan && !o.passes:
		return errors.New("--disable changes the pipeline; use it with --after, --plan or --passes")
	case o.collapse && (o.plan || o.onlyTable()):
		return errors.New("--collapse draws graphs, not plans or tables")
	case o.out != "" && o.onlyTable():
		return errors.New("-o writes a picture, and --passes alone draws none; add --after or --plan")
	case isDir(o.out) && o.after == "":
		return fmt.Errorf("-o %s: a directory holds the graphs after passes (--after); name a file", o.out)
	}
	disable, err := o.disabled()
	if err != nil {
		return err
	}
	if err := (passes.Options{Disable: disable}).Check(); err != nil {
		return fmt.Errorf("--disable %s: %w", o.disable, err)
	}
	if err := (passes.Options{Disable: disable, DumpAfter: o.after}).Check(); err != nil {
		return fmt.Errorf("--after %s: %w", o.after, err)
	}
	_, err = outputFormat(o.out)
	return err
}

// onlyTable says the command prints the pass table and draws nothing.
func (o graphOptions) onlyTable() bool { return o.passes && o.after == "" && !o.plan }

// disabled splits --disable into pass names.
func (o graphOptions) disabled() ([]string, error) {
	if o.disable == "" {
		return nil, nil
	}
	names := strings.Split(o.disable, ",")
	for i, n := range names {
		if names[i] = strings.TrimSpace(n); names[i] == "" {
			return nil, fmt.Errorf("--disable %q: empty pass name", o.disable)
		}
	}
	return names, nil
}

// format is how a picture is written.
type format uint8

const (
	formatDOT format = iota
	formatSVG
)

// isDir says -o names a directory: it ends in a slash or exists as one.
func isDir(path string) bool {
	if path == "" {
		return false
	}
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) {
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// outputFormat picks the format from the output file's extension; a
// directory gets DOT files.
func outputFormat(path string) (format, error) {
	if path == "" || isDir(path) {
		return formatDOT, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".dot", ".gv":
		return formatDOT, nil
	case ".svg":
		return formatSVG, nil
	}
	return 0, fmt.Errorf("-o %s: want a .dot, .gv or .svg file, or a directory DIR/", path)
}

// picture is one drawing to write: its DOT text, the file it goes to (""
// for standard output) and what it shows.
type picture struct {
	dot     string
	file    string
	comment string // a DOT comment line before it on standard output
	what    string
}

// drawGraph checks where the pictures go, opens the model, builds the
// step's graph and writes the pictures and the table the flags ask for:
// the graph as built, after passes, or the plan; then the pass table.
func drawGraph(e *env, o graphOptions) int {
	if err := o.prepareOutputs(); err != nil {
		return e.fail(err)
	}
	m, err := openModel(o.model)
	if err != nil {
		return e.fail(err)
	}
	defer m.Close()
	cfg := m.Config
	switch {
	case o.ctx == 0:
		cfg.Context = min(cfg.Context, engine.DefaultContext)
	case o.ctx > cfg.Context:
		return e.usageError("--ctx %d exceeds the model's context of %d positions", o.ctx, cfg.Context)
	default:
		cfg.Context = o.ctx
	}
	cfg.KVType = kvType(o.kv)
	g, err := mistral.Build(cfg, m.Weights, o.tokens)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", o.model, err))
	}
	gopt := graphviz.Options{Collapse: o.collapse}
	if o.after == "" && !o.plan && !o.passes {
		return writePictures(e, []picture{{dot: graphviz.Graph(g, gopt).String(), file: o.out, what: describe(g)}}, o.force)
	}

	disable, _ := o.disabled() // check has vetted it
	var pics []picture
	if o.after == "all" {
		pics = append(pics, o.afterPass(g, gopt, 0, "build"))
	}
	popt := passes.Options{Disable: disable, DumpAfter: o.after}
	if o.after != "" {
		popt.Dump = func(pass string, g *graph.Graph) {
			pics = append(pics, o.afterPass(g, gopt, slices.Index(passes.Names(), pass)+1, pass))
		}
	}
	res, err := passes.Run(g, passes.Target{Weights: m.Weights, WeightsSize: m.File.Size()}, popt)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", o.model, err))
	}
	var cost strings.Builder
	if o.plan {
		p := res.Plan
		if err := passes.WriteCost(&cost, p, cfg.Context); err != nil {
			return e.fail(fmt.Errorf("%s: %w", o.model, err))
		}
		what := fmt.Sprintf("plan %s, %d dispatches in %d command buffers", p.Name, len(p.Dispatches()), len(p.Commands))
		pic := picture{dot: graphviz.Plan(p).String(), file: o.out, what: what}
		if o.out == "" {
			pic.comment = dotComment(cost.String())
		}
		pics = append(pics, pic)
	}
	if rc := writePictures(e, pics, o.force); rc != 0 {
		return rc
	}
	if o.plan && o.out != "" {
		if _, err := io.WriteString(e.stdout, cost.String()); err != nil {
			return e.fail(err)
		}
	}
	if o.passes {
		if err := passes.WriteTable(e.stdout, res); err != nil {
			return e.fail(err)
		}
	}
	return 0
}

// dotComment turns lines of text into DOT comment lines.
func dotComment(text string) string {
	return "// " + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n// ") + "\n"
}

// afterPass draws g as it is after pass number idx of the pipeline (0: as
// built) and names its file.
func (o graphOptions) afterPass(g *graph.Graph, gopt graphviz.Options, idx int, pass string) picture {
	when := "after " + pass
	if idx == 0 {
		when = "as built"
	}
	pic := graphviz.Graph(g, gopt)
	pic.Attr("label", fmt.Sprintf("%v · %s", pic.Value("label"), when))
	return picture{
		dot:     pic.String(),
		file:    o.passFile(idx, pass),
		comment: fmt.Sprintf("// after %02d %s\n", idx, pass),
		what:    fmt.Sprintf("graph %s %s, %d nodes", g.Name, when, len(g.Nodes)),
	}
}

// passFile names the file of the graph after pass number idx ("" for
// standard output).
func (o graphOptions) passFile(idx int, pass string) string {
	switch {
	case isDir(o.out):
		return filepath.Join(o.out, fmt.Sprintf("%02d-%s.dot", idx, pass))
	case o.out != "" && o.after == "all":
		ext := filepath.Ext(o.out)
		return fmt.Sprintf("%s.%02d-%s%s", strings.TrimSuffix(o.out, ext), idx, pass, ext)
	}
	return o.out
}

// outputFiles lists the files the command will write.
func (o graphOptions) outputFiles() []string {
	switch {
	case o.out == "":
		return nil
	case o.after == "":
		return []string{o.out} // the graph as built, or the plan
	}
	disabled, _ := o.disabled() // check has vetted it
	var files []string
	if o.after == "all" {
		files = append(files, o.passFile(0, "build"))
	}
	for i, pass := range passes.Names() {
		if (o.after == "all" || o.after == pass) && !slices.Contains(disabled, pass) {
			files = append(files, o.passFile(i+1, pass))
		}
	}
	return files
}

// prepareOutputs checks every file the command will write before any work
// (see checkOutput), creating the directory of -o DIR/ first.
func (o graphOptions) prepareOutputs() error {
	if isDir(o.out) {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	for _, f := range o.outputFiles() {
		if err := checkOutput(f, o.force); err != nil {
			return err
		}
	}
	return nil
}

func openModel(path string) (*mistral.Model, error) {
	f, err := openGGUF(path)
	if err != nil {
		return nil, err
	}
	m, err := mistral.FromFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// describe says what a picture shows, for the line printed after writing
// a file.
func describe(g *graph.Graph) string {
	return fmt.Sprintf("graph %s, %d nodes", g.Name, len(g.Nodes))
}

// writePictures writes each picture as DOT to standard output (several
// separated by a blank line and their comment lines), or as DOT or SVG to
// its file, replacing an existing file only with force.
func writePictures(e *env, pics []picture, force bool) int {
	for i, p := range pics {
		if p.file == "" {
			src := p.comment + p.dot
			if i > 0 {
				src = "\n" + src
			}
			if _, err := e.stdout.Write([]byte(src)); err != nil {
				return e.fail(err)
			}
			continue
		}
		if err := writeFile(p, force); err != nil {
			return e.fail(err)
		}
		fmt.Fprintf(e.stdout, "wrote %s: %s\n", p.file, p.what)
	}
	return 0
}

func writeFile(p picture, force bool) error {
	f, err := outputFormat(p.file)
	if err != nil {
		return err
	}
	data := []byte(p.dot)
	if f == formatSVG {
		if data, err = graphviz.RenderSVG(data); err != nil {
			return fmt.Errorf("%s: %w (or write DOT with -o %s)", p.file, err, strings.TrimSuffix(p.file, filepath.Ext(p.file))+".dot")
		}
	}
	return writeOutput(p.file, force, func(_ context.Context, w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
