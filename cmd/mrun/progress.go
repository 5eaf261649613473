package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/metalgraph/metalgraph/modelinfo"
)

// progress prints the share of a long job done (bytes) and the rate: in place
// (carriage return) on a terminal, else one line per 10%.
type progress struct {
	label    string
	w        io.Writer
	terminal bool
	start    time.Time
	last     time.Time
	shown    int64 // last percent printed
	printed  bool
}

func newProgress(w io.Writer, label string) *progress {
	return &progress{label: label, w: w, terminal: isTerminal(w), start: time.Now(), shown: -1}
}

// isTerminal says whether stream (an io.Reader or io.Writer) is a
// terminal, a character device where a person watches or types, rather
// than a pipe or a file.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) update(done, total int64) {
	pct := done * 100 / max(total, 1)
	now := time.Now()
	if p.terminal {
		if pct == p.shown && now.Sub(p.last) < 250*time.Millisecond {
			return
		}
	} else if pct/10 == p.shown/10 && done != total {
		return
	}
	p.shown, p.last, p.printed = pct, now, true
	rate := float64(done) / 1e6 / max(now.Sub(p.start).Seconds(), 1e-9)
	line := fmt.Sprintf("%s: %3d%%  %s of %s  %.0f MB/s", p.label, pct, modelinfo.FormatBytes(done), modelinfo.FormatBytes(total), rate)
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// end finishes an in-place progress line.
func (p *progress) end() {
	if p.terminal && p.printed {
		fmt.Fprintln(p.w)
	}
}
