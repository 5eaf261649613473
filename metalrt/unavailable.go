//go:build !darwin

package metalrt

import (
	"fmt"
	"runtime"

	"github.com/metalgraph/metalgraph/plan"
)

// Runtime is the Metal runtime; outside macOS it cannot be created.
type Runtime struct{}

// Program is a plan compiled for the Metal runtime.
type Program struct{}

// Available reports whether this machine can run the Metal runtime: never
// outside macOS.
func Available() bool { return false }

// New fails: Metal exists only on macOS.
func New(weights []byte, o Options) (*Runtime, error) {
	return nil, fmt.Errorf("metal backend: Metal needs macOS on Apple Silicon (this is %s/%s)", runtime.GOOS, runtime.GOARCH)
}

// Name is the runtime's name in dumps and benchmarks.
func (r *Runtime) Name() string { return "metal" }

// Compile fails: there is no runtime outside macOS.
func (r *Runtime) Compile(p *plan.Plan) (*Program, error) { return nil, errUnavailable() }

// ResetKV does nothing: there is no cache outside macOS.
func (r *Runtime) ResetKV() {}

// Close does nothing.
func (r *Runtime) Close() error { return nil }

// Run fails: there is no program outside macOS.
func (p *Program) Run(tokens []int32, pos0 int) ([]float32, error) { return nil, errUnavailable() }

// N is the number of tokens each step of the program takes.
func (p *Program) N() int { return 0 }

// Close does nothing: no program exists off macOS.
func (p *Program) Close() error { return nil }

func errUnavailable() error {
	_, err := New(nil, Options{})
	return err
}
