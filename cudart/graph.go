package cudart

import "fmt"

// graphDriver is what graph capture needs from the driver; tests fake it.
type graphDriver interface {
	beginCapture(stream uintptr) error
	endCapture(stream uintptr) (graph uintptr, err error)
	instantiate(graph uintptr) (exec uintptr, err error)
	destroyGraph(graph, exec uintptr)
}

// graphState is a program's CUDA graph: its launches, captured once at the
// first step and replayed unchanged, since every launch reads the step's
// position and token count from device memory. A failed capture leaves no
// graph, and the next step captures again.
type graphState struct {
	graph, exec uintptr
	captures    int // captures made; stays 1 in a healthy program
}

// ensure captures enqueue's launches on stream into an executable graph,
// unless one exists.
func (g *graphState) ensure(d graphDriver, stream uintptr, enqueue func() error) error {
	if g.exec != 0 {
		return nil
	}
	if err := d.beginCapture(stream); err != nil {
		return fmt.Errorf("cudart: beginning the graph capture: %w", err)
	}
	g.captures++
	lerr := enqueue()
	graph, err := d.endCapture(stream) // always ends the capture, even after a failed launch
	if lerr != nil || err != nil {
		d.destroyGraph(graph, 0)
		if lerr != nil {
			return lerr
		}
		return fmt.Errorf("cudart: ending the graph capture: %w", err)
	}
	exec, err := d.instantiate(graph)
	if err != nil {
		d.destroyGraph(graph, 0)
		return fmt.Errorf("cudart: instantiating the graph: %w", err)
	}
	g.graph, g.exec = graph, exec
	return nil
}

// destroy frees the graph, if any.
func (g *graphState) destroy(d graphDriver) {
	if g.graph != 0 || g.exec != 0 {
		d.destroyGraph(g.graph, g.exec)
	}
	g.graph, g.exec = 0, 0
}
