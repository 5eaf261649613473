package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/emicklei/dot"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

func init() {
	register(&command{
		name:    "graph",
		args:    "-m FILE [--tokens N] [-o out.dot|out.svg] [--collapse]",
		summary: "draw a model's graph for a step of N tokens as Graphviz DOT, or SVG through Graphviz's dot",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var o graphOptions
			fs.StringVar(&o.model, "m", "", "model `FILE` to draw")
			fs.StringVar(&o.model, "model", "", "model `FILE` (same as -m)")
			fs.IntVar(&o.tokens, "tokens", 1, "tokens per step, `N`: 1 is the decode step, more a prefill or verification step")
			fs.StringVar(&o.out, "o", "", "write to `FILE`: .dot or .gv for DOT, .svg rendered by Graphviz's dot (default: DOT on standard output)")
			fs.BoolVar(&o.collapse, "collapse", false, "draw each run of identical blocks once, labelled with its count")
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
	out      string
	collapse bool
}

func (o graphOptions) check(args []string) error {
	switch {
	case o.model == "":
		return errors.New("-m FILE is required")
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q (the model is given with -m)", args)
	case o.tokens < 1:
		return fmt.Errorf("--tokens %d: a step has at least one token", o.tokens)
	}
	_, err := outputFormat(o.out)
	return err
}

// format is how a picture is written.
type format uint8

const (
	formatDOT format = iota
	formatSVG
)

// outputFormat picks the format from the output file's extension.
func outputFormat(path string) (format, error) {
	if path == "" {
		return formatDOT, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".dot", ".gv":
		return formatDOT, nil
	case ".svg":
		return formatSVG, nil
	}
	return 0, fmt.Errorf("-o %s: want a .dot, .gv or .svg file", path)
}

// drawGraph opens the model, builds the step's graph and writes the
// picture. The stages stay separate so that passes (to draw the graph
// after one of them) and plans (to draw the schedule) slot in between.
func drawGraph(e *env, o graphOptions) int {
	m, err := openModel(o.model)
	if err != nil {
		return e.fail(err)
	}
	defer m.Close()
	g, err := mistral.Build(m.Config, m.Weights, o.tokens)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", o.model, err))
	}
	return writePicture(e, o.out, graphviz.Graph(g, graphviz.Options{Collapse: o.collapse}), describe(g))
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

// writePicture writes DOT to standard output, or DOT or SVG to the -o file.
func writePicture(e *env, out string, pic *dot.Graph, what string) int {
	src := []byte(pic.String())
	if out == "" {
		if _, err := e.stdout.Write(src); err != nil {
			return e.fail(err)
		}
		return 0
	}
	f, err := outputFormat(out)
	if err != nil {
		return e.fail(err)
	}
	data := src
	if f == formatSVG {
		if data, err = graphviz.RenderSVG(src); err != nil {
			return e.fail(fmt.Errorf("%s: %w (or write DOT with -o %s)", out, err, strings.TrimSuffix(out, filepath.Ext(out))+".dot"))
		}
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s\n", out, what)
	return 0
}
