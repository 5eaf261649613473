package server

import "strings"

// stopFilter passes generated text on, holding back a tail that may be the
// start of a stop string so that no part of one ever reaches the client.
type stopFilter struct {
	stops []string
	held  string
	send  func(string) error
}

// write adds text and reports whether a stop string appeared; the text
// before it is sent, the rest dropped.
func (f *stopFilter) write(text string) (stopped bool, err error) {
	f.held += text
	cut := -1
	for _, s := range f.stops {
		if i := strings.Index(f.held, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out := f.held[:cut]
		f.held = ""
		return true, f.emit(out)
	}
	keep := 0
	for _, s := range f.stops {
		for k := min(len(s)-1, len(f.held)); k > keep; k-- {
			if strings.HasSuffix(f.held, s[:k]) {
				keep = k
				break
			}
		}
	}
	out := f.held[:len(f.held)-keep]
	f.held = f.held[len(f.held)-keep:]
	return false, f.emit(out)
}

// flush sends what is held: the text ended without a stop string.
func (f *stopFilter) flush() error {
	out := f.held
	f.held = ""
	return f.emit(out)
}

func (f *stopFilter) emit(s string) error {
	if s == "" {
		return nil
	}
	return f.send(s)
}
