package runtimes

import (
	"fmt"
	"io"
	"strings"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/cudart"
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/metalrt"
	"github.com/metalgraph/metalgraph/plan"
)

// Names lists the backends Open accepts.
var Names = []string{"auto", "cpu", "metal", "cuda"}

// Options configure a backend.
type Options struct {
	// Threads for the CPU runtime (0 = all cores).
	Threads int
	// Tiles are the CPU runtime's repacked Q4_0 weights, shared by every
	// backend opened on one model (NewTiles); nil gives each its own.
	Tiles *cpurt.TileStore
	// Progress, when set, is called as a GPU runtime copies the weights to
	// the device, with the bytes done and the total.
	Progress func(done, total int64)
	// CUDAProfile, when set, has the CUDA runtime time every step's
	// kernels and write the report there when it closes
	// (cudart.Options.Profile).
	CUDAProfile io.Writer
}

// NewTiles returns the store of repacked weights for the backends of one
// model; release (the model file's gguf.File.Release) lets the bytes they
// replace leave memory.
func NewTiles(release func([]byte)) *cpurt.TileStore { return cpurt.NewTileStore(release) }

// Open returns the named backend over the mapped model file.
func Open(name string, weights []byte, o Options) (engine.Backend, error) {
	switch name {
	case "cpu":
		rt, err := cpurt.New(weights, cpurt.Options{Threads: o.Threads, Tiles: o.Tiles})
		if err != nil {
			return nil, err
		}
		return &backend[*cpurt.Program]{name: rt.Name(), compile: rt.Compile, reset: rt.ResetKV, close: rt.Close}, nil
	case "metal":
		rt, err := metalrt.New(weights, metalrt.Options{})
		if err != nil {
			return nil, err
		}
		return &backend[*metalrt.Program]{name: rt.Name(), compile: rt.Compile, reset: rt.ResetKV, close: rt.Close}, nil
	case "cuda":
		rt, err := cudart.New(weights, cudart.Options{Progress: o.Progress, Profile: o.CUDAProfile})
		if err != nil {
			return nil, err
		}
		return &backend[*cudart.Program]{name: rt.Name(), compile: rt.Compile, reset: rt.ResetKV, close: rt.Close}, nil
	case "auto":
		if metalrt.Available() {
			return Open("metal", weights, o)
		}
		if cudart.Available() {
			return Open("cuda", weights, o)
		}
		return Open("cpu", weights, o)
	}
	return nil, fmt.Errorf("unknown backend %q (choose %s)", name, strings.Join(Names, ", "))
}

// backend adapts a runtime whose Compile returns its own program type to
// engine.Backend.
type backend[P engine.Program] struct {
	name    string
	compile func(*plan.Plan) (P, error)
	reset   func()
	close   func() error
}

func (b *backend[P]) Name() string { return b.name }
func (b *backend[P]) ResetKV()     { b.reset() }
func (b *backend[P]) Close() error { return b.close() }

func (b *backend[P]) Compile(p *plan.Plan) (engine.Program, error) {
	prog, err := b.compile(p)
	if err != nil {
		return nil, err
	}
	return prog, nil
}
