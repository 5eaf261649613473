package engine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/plan"
)

// probe wraps a backend to record which step sizes are compiled and
// closed.
type probe struct {
	engine.Backend
	compiled, closed []int
}

func (p *probe) Compile(pl *plan.Plan) (engine.Program, error) {
	prog, err := p.Backend.Compile(pl)
	if err != nil {
		return nil, err
	}
	p.compiled = append(p.compiled, pl.N)
	return &probedProgram{Program: prog, n: pl.N, probe: p}, nil
}

type probedProgram struct {
	engine.Program
	n     int
	probe *probe
}

func (pp *probedProgram) Close() error {
	pp.probe.closed = append(pp.probe.closed, pp.n)
	return nil
}

func TestTheProgramCacheIsBounded(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	p := &probe{Backend: f.b}
	s, err := engine.NewSession(f.model, p, engine.Options{})
	require.NoError(t, err)
	ids := make([]int32, 24)
	for i := range ids {
		ids[i] = int32(3 + i)
	}
	turn := func(n int, decode bool) {
		s.Reset()
		_, err := s.Prefill(ids[:n])
		require.NoError(t, err)
		if decode {
			_, err = s.Step([]int32{5})
			require.NoError(t, err)
		}
		require.LessOrEqual(t, len(s.CachedStepSizes()), engine.MaxPrograms)
	}
	// Turns of 2..20 prompt tokens, each followed by decoding: the least
	// recently used size goes, the decode program stays.
	for n := 2; n <= 20; n++ {
		turn(n, true)
	}
	require.Equal(t, []int{18, 19, 20, 1}, s.CachedStepSizes())
	// Prefill only: the decode program becomes the least recently used and
	// is still kept.
	for n := 21; n <= 24; n++ {
		turn(n, false)
	}
	require.Equal(t, []int{1, 22, 23, 24}, s.CachedStepSizes())

	var evicted []int
	for n := 2; n <= 21; n++ {
		evicted = append(evicted, n)
	}
	require.Equal(t, evicted, p.closed, "evicted programs are closed, oldest first")
	require.Equal(t, 1, count(p.compiled, 1), "the decode program was compiled once")
	require.Len(t, p.compiled, len(p.closed)+engine.MaxPrograms, "every other program is still cached")
}

func count(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
