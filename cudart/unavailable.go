//go:build !linux

package cudart

import (
	"fmt"
	"runtime"

	"github.com/metalgraph/metalgraph/plan"
)

// Runtime is the CUDA runtime; outside Linux it cannot be created.
type Runtime struct{}

// Program is a plan compiled for the CUDA runtime.
type Program struct{}

// Available reports whether this machine can run the CUDA runtime: never
// outside Linux.
func Available() bool { return false }

// New fails: the CUDA runtime runs on Linux only.
func New(weights []byte, o Options) (*Runtime, error) {
	return nil, fmt.Errorf("cuda backend: CUDA needs Linux with an NVIDIA GPU (this is %s/%s)", runtime.GOOS, runtime.GOARCH)
}

// Name is the runtime's name in dumps and benchmarks.
func (r *Runtime) Name() string { return "cuda" }

// Compile fails: there is no runtime outside Linux.
func (r *Runtime) Compile(p *plan.Plan) (*Program, error) { return nil, errUnavailable() }

// ResetKV does nothing: there is no cache outside Linux.
func (r *Runtime) ResetKV() {}

// Close does nothing.
func (r *Runtime) Close() error { return nil }

// Run fails: there is no program outside Linux.
func (p *Program) Run(tokens []int32, pos0 int) ([]float32, error) { return nil, errUnavailable() }

// N is the number of tokens each step of the program takes.
func (p *Program) N() int { return 0 }

// Close does nothing.
func (p *Program) Close() error { return nil }

func errUnavailable() error {
	_, err := New(nil, Options{})
	return err
}
