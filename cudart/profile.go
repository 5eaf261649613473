package cudart

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// CopyBandwidth is the H200's measured device-to-device copy rate in bytes
// per second (KINDS.md: 4.3 TB/s counting bytes read and written): the
// ceiling a mat-vec kernel's weight stream is compared with.
const CopyBandwidth = 4.3e12

// timedKernel is one launch of a profiled step: its kernel, the weight
// bytes it reads (0 for kernels without weights) and its time.
type timedKernel struct {
	kernel      string
	weightBytes int64
	ms          float64
}

// eventTimer times launches with CUDA events; tests fake it.
type eventTimer interface {
	// mark records event i on the stream.
	mark(i int) error
	// elapsed waits for event j and returns the milliseconds from i to j.
	elapsed(i, j int) (float64, error)
}

// timeLaunches runs launches 0..n-1 with run, each between two events
// (event i before launch i, event i+1 after it), and returns each one's
// milliseconds. The launches go one by one, outside the graph: the times
// are the kernels' own, without the gaps between them.
func timeLaunches(t eventTimer, n int, run func(i int) error) ([]float64, error) {
	if err := t.mark(0); err != nil {
		return nil, err
	}
	for i := range n {
		if err := run(i); err != nil {
			return nil, err
		}
		if err := t.mark(i + 1); err != nil {
			return nil, err
		}
	}
	ms := make([]float64, n)
	for i := range ms {
		var err error
		if ms[i], err = t.elapsed(i, i+1); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// Profile accumulates the kernel times of a program's profiled steps.
type Profile struct {
	steps   int
	replay  float64 // milliseconds of the graph replays (or launches) of those steps
	kernels map[string]*kernelTotal
}

type kernelTotal struct {
	launches    int
	weightBytes int64
	ms          float64
}

// add folds one step's kernel times and its replay time into the profile.
func (p *Profile) add(step []timedKernel, replayMS float64) {
	if p.kernels == nil {
		p.kernels = map[string]*kernelTotal{}
	}
	p.steps++
	p.replay += replayMS
	for _, k := range step {
		t := p.kernels[k.kernel]
		if t == nil {
			t = &kernelTotal{}
			p.kernels[k.kernel] = t
		}
		t.launches++
		t.weightBytes += k.weightBytes
		t.ms += k.ms
	}
}

// Report writes the mean time per step of each kernel family, slowest
// first, and for kernels that read weights the rate they stream them at
// against CopyBandwidth.
func (p *Profile) Report(w io.Writer, title string) error {
	if p.steps == 0 {
		_, err := fmt.Fprintf(w, "%s: no steps profiled\n", title)
		return err
	}
	names := make([]string, 0, len(p.kernels))
	sum := 0.0
	for n, t := range p.kernels {
		names = append(names, n)
		sum += t.ms
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := p.kernels[names[i]], p.kernels[names[j]]
		if a.ms != b.ms {
			return a.ms > b.ms
		}
		return names[i] < names[j]
	})
	steps := float64(p.steps)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d steps; replay %.3f ms/step, kernels one by one %.3f ms/step\n",
		title, p.steps, p.replay/steps, sum/steps)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "kernel\tlaunches/step\tms/step\tshare\tweights MB/step\tGB/s\tof copy\t")
	for _, n := range names {
		t := p.kernels[n]
		rate, frac := "-", "-"
		if t.weightBytes > 0 && t.ms > 0 {
			bps := float64(t.weightBytes) / (t.ms / 1e3)
			rate = fmt.Sprintf("%.0f", bps/1e9)
			frac = fmt.Sprintf("%.0f%%", 100*bps/CopyBandwidth)
		}
		mb := "-"
		if t.weightBytes > 0 {
			mb = fmt.Sprintf("%.1f", float64(t.weightBytes)/steps/1e6)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.1f%%\t%s\t%s\t%s\t\n", n, t.launches/p.steps, t.ms/steps, 100*t.ms/sum, mb, rate, frac)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
