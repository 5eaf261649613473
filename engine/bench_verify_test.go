package engine_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/runtimes"
)

// verifySizes are the step sizes BenchmarkVerifyStep compares: a decode
// step, then verifications of k = 1..7 drafted tokens.
var verifySizes = []int{1, 2, 3, 4, 5, 6, 8}

// BenchmarkVerifyStep times speculative verification steps of k+1 tokens
// (all their logits, as verification needs) against a decode step on the
// CPU runtime. The sizes take turns within each round, in one session, so
// that every ratio is measured side by side under the same conditions;
// each is reported in ms per step and as a multiple of the decode step
// (x-decode). The model is $METALGRAPH_VERIFY_MODEL when set (the
// 7B-shaped file of mrun synth --shape mistral-7b --type q4_0), else the
// shared synth-d256-gqa-Q4_0:
//
//	METALGRAPH_VERIFY_MODEL=m7b.gguf go test ./engine -run XXX -bench VerifyStep -benchtime 12x
func BenchmarkVerifyStep(b *testing.B) {
	path := os.Getenv("METALGRAPH_VERIFY_MODEL")
	if path == "" {
		path = shareddata.Path(b, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	}
	m, err := mistral.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	be, err := runtimes.Open("cpu", m.File.Bytes(), runtimes.Options{Tiles: runtimes.NewTiles(m.File.Release)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	ctx := min(1024, m.Config.Context)
	s, err := engine.NewSession(m, be, engine.Options{Context: ctx})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Warm(verifySizes...); err != nil {
		b.Fatal(err)
	}
	ids := someTokens(s, verifySizes[len(verifySizes)-1])
	spent := make([]time.Duration, len(verifySizes))
	for b.Loop() {
		if s.Pos() > ctx-2*len(ids) {
			s.Reset()
		}
		for i, n := range verifySizes {
			pos := s.Pos()
			start := time.Now()
			if _, err := s.Step(ids[:n]); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
			// Keep one token, as a verification that accepts none does.
			if err := s.Truncate(pos + 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i, n := range verifySizes {
		b.ReportMetric(spent[i].Seconds()*1e3/float64(b.N), fmt.Sprintf("ms/step-of-%d", n))
		b.ReportMetric(float64(spent[i])/float64(spent[0]), fmt.Sprintf("x-decode/step-of-%d", n))
	}
}
