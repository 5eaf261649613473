package modelinfo

import (
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// Memory is what `mrun run` needs with its defaults, read off the plans the
// pass pipeline makes for this model (not a formula): the context is the
// model's, capped at engine.DefaultContext, and prompts are prefilled in
// steps of engine.DefaultPrefillChunk tokens.
type Memory struct {
	Context      int   `json:"context"`       // positions the KV cache holds
	PrefillChunk int   `json:"prefill_chunk"` // tokens per prefill step
	Weights      int64 `json:"weights"`       // the file, memory-mapped, never copied
	KVCacheF32   int64 `json:"kv_cache_f32"`
	KVCacheF16   int64 `json:"kv_cache_f16"`
	// Activations is the arenas and logits buffers of the decode (N = 1)
	// and prefill plans, which a session holds at once.
	Activations int64 `json:"activations"`
	TotalF32    int64 `json:"total_f32"` // weights + F32 KV cache + activations
	TotalF16    int64 `json:"total_f16"` // weights + F16 KV cache + activations
	// FullContext and its KV cache sizes: what --ctx at the model's trained
	// context would take.
	FullContext    int   `json:"full_context"`
	FullKVCacheF32 int64 `json:"full_kv_cache_f32"`
	FullKVCacheF16 int64 `json:"full_kv_cache_f16"`
}

// planMemory plans the decode and prefill steps of the model in f.
func planMemory(f *gguf.File, c mistral.Config, w *mistral.Weights) (*Memory, error) {
	full := c.Context
	c.Context = min(c.Context, engine.DefaultContext)
	chunk := min(engine.DefaultPrefillChunk, c.Context)
	m := &Memory{Context: c.Context, PrefillChunk: chunk, Weights: f.Size(), FullContext: full}
	var kv int64
	for _, n := range []int{1, chunk} {
		p, err := planStep(f, c, w, n)
		if err != nil {
			return nil, err
		}
		kv = p.Buffer(plan.KV).Size
		m.Activations += p.Buffer(plan.Arena).Size + p.Buffer(plan.Logits).Size
		if chunk == 1 {
			break
		}
	}
	// The KV cache is F32 or F16 by element; its size scales with the
	// context and the element size alone.
	elem := int64(4)
	if c.KVType == quant.F16 {
		elem = 2
	}
	m.KVCacheF32, m.KVCacheF16 = kv/elem*4, kv/elem*2
	m.FullKVCacheF32 = m.KVCacheF32 / int64(c.Context) * int64(full)
	m.FullKVCacheF16 = m.FullKVCacheF32 / 2
	m.TotalF32 = m.Weights + m.KVCacheF32 + m.Activations
	m.TotalF16 = m.Weights + m.KVCacheF16 + m.Activations
	return m, nil
}

func planStep(f *gguf.File, c mistral.Config, w *mistral.Weights, n int) (*plan.Plan, error) {
	g, err := mistral.Build(c, w, n)
	if err != nil {
		return nil, err
	}
	res, err := passes.Run(g, passes.Target{Weights: w, WeightsSize: f.Size()}, passes.Options{})
	if err != nil {
		return nil, err
	}
	return res.Plan, nil
}
