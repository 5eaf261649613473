package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/modelinfo"
)

// benchReport is what bench measured. Its JSON names are llama-bench's
// where llama-bench has the field.
type benchReport struct {
	Model       string            `json:"model"` // the file as given
	ModelSize   int64             `json:"model_size"`
	ModelParams int64             `json:"model_n_params"`
	Backend     string            `json:"backend"`
	Threads     int               `json:"threads"`
	KV          string            `json:"kv_type"`
	Context     int               `json:"n_ctx"`
	Tests       []benchTestReport `json:"tests"`
	PeakRSS     int64             `json:"peak_rss_bytes"`
}

// benchTestReport is one test's runs; samples_ts[i] is n_prompt+n_gen
// tokens over samples_ns[i].
type benchTestReport struct {
	Name      string    `json:"name"`
	NPrompt   int       `json:"n_prompt"`
	NGen      int       `json:"n_gen"`
	Reps      int       `json:"reps"`
	SamplesNS []int64   `json:"samples_ns"`
	SamplesTS []float64 `json:"samples_ts"`
	AvgTS     float64   `json:"avg_ts"`
	StddevTS  float64   `json:"stddev_ts"`
}

func newBenchReport(s *session, f runFlags) *benchReport {
	r := &benchReport{
		Model: f.model, Backend: s.backend.Name(), Threads: threadsUsed(f.threads), KV: f.kv,
		Context: s.engine.Config().Context, Tests: []benchTestReport{},
	}
	// Size and parameters count the tensors, as llama-bench's do.
	for _, t := range s.model.File.Tensors {
		r.ModelSize += t.Size
		r.ModelParams += t.Elements()
	}
	return r
}

// add records a test's result and returns its report.
func (r *benchReport) add(res engine.BenchResult) benchTestReport {
	t := benchTestReport{
		Name: res.Test.Name(), NPrompt: res.Test.Prompt, NGen: res.Test.Gen, Reps: len(res.Samples),
		SamplesTS: res.TPS(), AvgTS: res.MeanTPS(), StddevTS: res.StdDevTPS(),
	}
	for _, d := range res.Samples {
		t.SamplesNS = append(t.SamplesNS, d.Nanoseconds())
	}
	r.Tests = append(r.Tests, t)
	return t
}

func (r *benchReport) writeJSON(w io.Writer) error {
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(doc, '\n'))
	return err
}

// writeSummary prints, after the table, one line per test with its mean
// speed (the lines scripts such as compare-llama-bench read), then the
// peak memory.
func (r *benchReport) writeSummary(w io.Writer) error {
	var b strings.Builder
	b.WriteString("\n")
	for _, t := range r.Tests {
		switch {
		case t.NGen == 0:
			fmt.Fprintf(&b, "prefill %4d tokens: %8.1f tokens/s\n", t.NPrompt, t.AvgTS)
		case t.NPrompt == 0:
			fmt.Fprintf(&b, "decode  %4d tokens: %8.1f tokens/s\n", t.NGen, t.AvgTS)
		}
	}
	if r.PeakRSS > 0 {
		fmt.Fprintf(&b, "peak RSS: %s\n", modelinfo.FormatBytes(r.PeakRSS))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// benchTable prints llama-bench's markdown table a row at a time, as each
// test finishes, so its column widths are fixed by what is known before
// the first: everything but the speeds, whose column is wide enough for
// any.
type benchTable struct {
	columns []benchColumn
	shared  []string // the cells before "test", the same in every row
}

type benchColumn struct {
	title string
	width int
	left  bool // text is left-aligned, numbers right-aligned
}

func (r *benchReport) table(tests []engine.BenchTest) *benchTable {
	t := &benchTable{
		columns: []benchColumn{{title: "model", left: true}, {title: "size"}, {title: "params"},
			{title: "backend", left: true}, {title: "threads"}, {title: "kv"}, {title: "test"}, {title: "t/s", width: 20}},
		shared: []string{modelinfo.Printable(filepath.Base(r.Model)), modelinfo.FormatBytes(r.ModelSize),
			modelinfo.FormatCount(r.ModelParams), r.Backend, strconv.Itoa(r.Threads), r.KV},
	}
	for i, c := range t.columns {
		t.columns[i].width = max(c.width, utf8.RuneCountInString(c.title))
	}
	for i, cell := range t.shared {
		t.columns[i].width = max(t.columns[i].width, utf8.RuneCountInString(cell))
	}
	test := &t.columns[len(t.shared)]
	for _, bt := range tests {
		test.width = max(test.width, len(bt.Name()))
	}
	return t
}

func (t *benchTable) header(w io.Writer) error {
	titles, rules := make([]string, len(t.columns)), make([]string, len(t.columns))
	for i, c := range t.columns {
		titles[i] = c.title
		rules[i] = strings.Repeat("-", c.width-1) + ":"
		if c.left {
			rules[i] = strings.Repeat("-", c.width)
		}
	}
	return t.line(w, titles, rules)
}

func (t *benchTable) row(w io.Writer, r benchTestReport) error {
	return t.line(w, append(t.shared[:len(t.shared):len(t.shared)], r.Name, fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StddevTS)))
}

// line prints rows of cells, padded to the column widths.
func (t *benchTable) line(w io.Writer, rows ...[]string) error {
	var b strings.Builder
	for _, cells := range rows {
		b.WriteString("|")
		for i, c := range t.columns {
			pad := strings.Repeat(" ", max(0, c.width-utf8.RuneCountInString(cells[i])))
			if c.left {
				fmt.Fprintf(&b, " %s%s |", cells[i], pad)
			} else {
				fmt.Fprintf(&b, " %s%s |", pad, cells[i])
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
