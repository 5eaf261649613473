//go:build linux

package cudart

import (
	"fmt"
	"io"
)

// events times a program's launches on the runtime's stream: one CUDA
// event per boundary, created as needed and kept for the program's life.
type events struct {
	drv    *driver
	stream uintptr
	ev     []uintptr
}

func (e *events) mark(i int) error {
	for len(e.ev) <= i {
		var ev uintptr
		if err := e.drv.check(e.drv.cuEventCreate(&ev, 0), "cuEventCreate"); err != nil {
			return err
		}
		e.ev = append(e.ev, ev)
	}
	return e.drv.check(e.drv.cuEventRecord(e.ev[i], e.stream), "cuEventRecord")
}

func (e *events) elapsed(i, j int) (float64, error) {
	if err := e.drv.check(e.drv.cuEventSynchronize(e.ev[j]), "cuEventSynchronize"); err != nil {
		return 0, err
	}
	var ms float32
	err := e.drv.check(e.drv.cuEventElapsedTime(&ms, e.ev[i], e.ev[j]), "cuEventElapsedTime")
	return float64(ms), err
}

func (e *events) destroy() {
	for _, ev := range e.ev {
		e.drv.cuEventDestroy(ev)
	}
	e.ev = nil
}

// executeProfiled runs the step as execute does, timing it, then runs its
// launches again one by one between events. A step computes everything
// from its inputs (the KV rows it stores are the same both times), so the
// second pass changes no result.
func (p *Program) executeProfiled() error {
	if p.events == nil {
		p.events = &events{drv: p.rt.dev.drv, stream: p.rt.stream}
	}
	replay, err := timeLaunches(p.events, 1, func(int) error { return p.execute() })
	if err != nil {
		return fmt.Errorf("cudart: program %s: timing the step: %w", p.name, err)
	}
	drv := p.rt.dev.drv
	ms, err := timeLaunches(p.events, len(p.launches), func(i int) error {
		l := &p.launches[i]
		return drv.check(drv.launch(l.fn, l.geo, p.rt.stream, &l.args.extra), "cuLaunchKernel")
	})
	if err != nil {
		return fmt.Errorf("cudart: program %s: timing its kernels: %w", p.name, err)
	}
	step := make([]timedKernel, len(ms))
	for i, l := range p.launches {
		step[i] = timedKernel{kernel: l.kernel, weightBytes: l.weightBytes, ms: ms[i]}
	}
	p.profile.add(step, replay[0])
	return nil
}

// reportProfiles writes each profiled program's report to w.
func (r *Runtime) reportProfiles(w io.Writer) {
	for _, p := range r.programs {
		if p.profile.steps > 0 {
			p.profile.Report(w, fmt.Sprintf("cuda profile of %s (%d tokens a step)", p.name, p.n))
		}
	}
}
