package golden

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Record is one golden file.
type Record struct {
	Model     string
	Vocab     int
	KVType    string // "f16" or "f32"
	PromptIDs []int32
	// Logits maps a position to the logits produced when the token at that
	// position is fed (the distribution of the next token).
	Logits map[int][]float32
	// Greedy holds the greedy continuation, one entry per generated token.
	Greedy     []Step
	GreedyIDs  []int32
	GreedyText string
}

// Step is one greedily chosen token with its logit.
type Step struct {
	ID    int32
	Piece string
	Logit float32
}

// Read parses a golden file.
func Read(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &Record{Logits: map[int][]float32{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		key, rest, _ := strings.Cut(sc.Text(), " ")
		if err := r.parse(key, rest); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", path, line, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Record) parse(key, rest string) error {
	var err error
	switch key {
	case "model":
		r.Model = rest
	case "n_vocab":
		r.Vocab, err = strconv.Atoi(rest)
	case "kv_type":
		r.KVType = rest
	case "prompt_ids":
		r.PromptIDs, err = ids(rest)
	case "greedy_ids":
		r.GreedyIDs, err = ids(rest)
	case "greedy_text":
		r.GreedyText, err = unquote(rest)
	case "logits":
		pos, vals, _ := strings.Cut(rest, " ")
		var p int
		if p, err = strconv.Atoi(pos); err == nil {
			r.Logits[p], err = floats(vals)
		}
	case "greedy":
		// greedy STEP ID "piece" LOGIT
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 3 {
			return fmt.Errorf("short record")
		}
		id, err := strconv.ParseInt(f[1], 10, 32)
		if err != nil {
			return err
		}
		end := strings.LastIndexByte(f[2], ' ')
		if end < 0 {
			return fmt.Errorf("no logit")
		}
		piece, err := unquote(f[2][:end])
		if err != nil {
			return err
		}
		logit, err := strconv.ParseFloat(f[2][end+1:], 32)
		if err != nil {
			return err
		}
		r.Greedy = append(r.Greedy, Step{ID: int32(id), Piece: piece, Logit: float32(logit)})
	}
	return err
}

func ids(s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, int32(v))
	}
	return out, nil
}

func floats(s string) ([]float32, error) {
	fields := strings.Fields(s)
	out := make([]float32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 32)
		if err != nil {
			return nil, err
		}
		out[i] = float32(v)
	}
	return out, nil
}

// unquote undoes the file's escaping: \\ \" \n \r \t and \xNN bytes.
func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a quoted string: %q", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			if i+3 > len(s) {
				return "", fmt.Errorf("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// MaxAbsDiff is the largest absolute difference between two logit rows.
// Rows of different lengths are infinitely far apart, so that any
// comparison with a tolerance fails rather than checking a prefix.
func MaxAbsDiff(a, b []float32) float32 {
	if len(a) != len(b) {
		return float32(math.Inf(1))
	}
	var m float32
	for i := range a {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

// Argmax is the index of the largest value (the first on ties).
func Argmax(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// Margin is the gap between the largest and second largest value: how
// much error a greedy choice can absorb.
func Margin(xs []float32) float32 {
	top, second := float32(-1e38), float32(-1e38)
	for _, x := range xs {
		if x > top {
			top, second = x, top
		} else if x > second {
			second = x
		}
	}
	return top - second
}
