package passes

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// IdealWeightBytes is the fewest weight bytes a step of g can read: every
// weight once, except a table that only embed nodes read, of which only
// the rows of the step's N tokens are needed. A plan whose
// plan.Stats.WeightBytesRead is larger reads some weight more than once.
func IdealWeightBytes(g *graph.Graph) int64 {
	uses := g.Uses()
	var sum int64
	for _, v := range g.ValuesOf(graph.Weight) {
		readers := uses[v]
		if len(readers) == 0 {
			continue
		}
		embedOnly := true
		for _, n := range readers {
			if _, ok := n.Op.(ops.EmbedOp); !ok {
				embedOnly = false
			}
		}
		if embedOnly && len(v.Shape) == 2 && v.Shape[0] > 0 {
			sum += int64(g.N) * (v.Bytes() / int64(v.Shape[0]))
		} else {
			sum += v.Bytes()
		}
	}
	return sum
}

// WriteTable writes what a run of the pipeline did as text: one row per
// pass with its time and the graph's node count before and after it
// ("skipped" for a disabled pass), then the plan's statistics
// (plan.Stats) with sizes in binary units and exact bytes, and the weight
// bytes a step reads next to IdealWeightBytes. Steps of several tokens
// also show the bytes per token.
func WriteTable(w io.Writer, r *Result) error {
	passes := table{{"pass", "time", "nodes before", "nodes after"}}
	var total time.Duration
	for _, s := range r.Stats {
		t := "skipped"
		if !s.Skipped {
			t, total = duration(s.Time), total+s.Time
		}
		passes = append(passes, []string{s.Pass, t, fmt.Sprint(s.NodesBefore), fmt.Sprint(s.NodesAfter)})
	}
	passes = append(passes, []string{"total", duration(total), "", ""})
	var b strings.Builder
	passes.write(&b)

	if p := r.Plan; p == nil {
		b.WriteString("\nno plan: the schedule pass did not run\n")
	} else {
		st := p.Stats()
		fmt.Fprintf(&b, "\nplan %s, N=%d\n", p.Name, p.N)
		var t table
		count := func(name string, v int) { t = append(t, []string{name, fmt.Sprint(v), ""}) }
		sized := func(name string, v int64) { t = append(t, []string{name, size(v), fmt.Sprintf("%d B", v)}) }
		count("dispatches", st.Dispatches)
		count("barriers", st.Barriers)
		count("command buffers", st.CommandBuffers)
		sized("arena", st.ArenaBytes)
		sized("KV cache", st.KVBytes)
		sized("weights read per step", st.WeightBytesRead)
		ideal := int64(0)
		if r.Graph != nil {
			ideal = IdealWeightBytes(r.Graph)
			sized("  ideal: each weight once", ideal)
		}
		sized("activations per step", st.ActivationBytes)
		if n := int64(p.N); n > 1 {
			sized("weights read per token", st.WeightBytesRead/n)
			sized("activations per token", st.ActivationBytes/n)
		}
		t.write(&b)
		if ideal > 0 {
			fmt.Fprintf(&b, "weights read: %.3f× the ideal\n", float64(st.WeightBytesRead)/float64(ideal))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table is rows of cells; the first column is aligned left, the others
// right.
type table [][]string

func (t table) write(b *strings.Builder) {
	var width []int
	for _, row := range t {
		for i, c := range row {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range t {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				line.WriteString(c + pad)
			} else {
				line.WriteString("  " + pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// duration rounds a pass time to about three significant digits.
func duration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

// size writes a byte count the way people read it: exact below 1 KiB,
// otherwise with two decimals of the largest binary unit that keeps the
// number at least 1.
func size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}
