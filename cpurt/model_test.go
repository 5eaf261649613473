package cpurt

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/quant"
)

// model is a shared test model on a runtime, with a program per step size
// built by the whole pass pipeline.
type model struct {
	m     *mistral.Model
	cfg   mistral.Config
	rt    *Runtime
	progs map[int]*Program
}

// openModel opens a model of ../shared/models (file is relative to it, as
// golden files name it: "stories260K.gguf", "derived/...") and a runtime
// over its file bytes.
func openModel(t testing.TB, file string, kv quant.Type, threads int) *model {
	t.Helper()
	return openModelAt(t, shareddata.Path(t, "models", filepath.FromSlash(file)), kv, threads)
}

// openModelAt is openModel for a model file anywhere.
func openModelAt(t testing.TB, path string, kv quant.Type, threads int) *model {
	t.Helper()
	m, err := mistral.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	rt, err := New(m.File.Bytes(), Options{Threads: threads})
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	cfg := m.Config
	cfg.KVType = kv
	return &model{m: m, cfg: cfg, rt: rt, progs: map[int]*Program{}}
}

// program returns the compiled program for steps of n tokens.
func (md *model) program(t testing.TB, n int) *Program {
	t.Helper()
	if p, ok := md.progs[n]; ok {
		return p
	}
	g, err := mistral.Build(md.cfg, md.m.Weights, n)
	require.NoError(t, err)
	res, err := passes.Run(g, passes.Target{Weights: md.m.Weights, WeightsSize: md.m.File.Size()}, passes.Options{})
	require.NoError(t, err)
	p, err := md.rt.Compile(res.Plan)
	require.NoError(t, err)
	md.progs[n] = p
	return p
}

// run feeds tokens at pos0 in steps of at most chunk tokens and returns
// the logits of every token, one row each.
func (md *model) run(t testing.TB, tokens []int32, pos0, chunk int) [][]float32 {
	t.Helper()
	var rows [][]float32
	for i := 0; i < len(tokens); i += chunk {
		step := tokens[i:min(i+chunk, len(tokens))]
		logits, err := md.program(t, len(step)).Run(step, pos0+i)
		require.NoError(t, err)
		for j := range step {
			rows = append(rows, append([]float32(nil), logits[j*md.cfg.Vocab:(j+1)*md.cfg.Vocab]...))
		}
	}
	return rows
}
