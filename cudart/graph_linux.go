//go:build linux

package cudart

// The driver's graph calls, for graphState.

// captureThreadLocal is CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: the capturing
// goroutine is locked to its thread, and other threads' CUDA calls (other
// runtimes) stay legal during the capture.
const captureThreadLocal = 1

func (d *driver) beginCapture(stream uintptr) error {
	return d.check(d.cuStreamBeginCapture(stream, captureThreadLocal), "cuStreamBeginCapture")
}

func (d *driver) endCapture(stream uintptr) (uintptr, error) {
	var g uintptr
	err := d.check(d.cuStreamEndCapture(stream, &g), "cuStreamEndCapture")
	return g, err
}

func (d *driver) instantiate(graph uintptr) (uintptr, error) {
	var exec uintptr
	err := d.check(d.cuGraphInstantiate(&exec, graph, 0), "cuGraphInstantiate")
	return exec, err
}

func (d *driver) destroyGraph(graph, exec uintptr) {
	if exec != 0 {
		d.cuGraphExecDestroy(exec)
	}
	if graph != 0 {
		d.cuGraphDestroy(graph)
	}
}
