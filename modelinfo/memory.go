package modelinfo

// Memory estimates what a run of the model at its full context needs.
// See the package documentation for the formula.
type Memory struct {
	Context      int   `json:"context"`       // positions the KV cache holds
	PrefillChunk int   `json:"prefill_chunk"` // tokens per prefill step assumed
	Weights      int64 `json:"weights"`       // tensor bytes, mapped from the file
	KVCacheF32   int64 `json:"kv_cache_f32"`
	KVCacheF16   int64 `json:"kv_cache_f16"`
	Activations  int64 `json:"activations"`
	TotalF32     int64 `json:"total_f32"` // weights + F32 KV cache + activations
	TotalF16     int64 `json:"total_f16"` // weights + F16 KV cache + activations
}

// maxPrefillChunk is the prefill step size the estimate assumes.
const maxPrefillChunk = 512

func estimateMemory(h *Hyperparameters, weights int64) *Memory {
	m := &Memory{Context: h.Context, PrefillChunk: min(maxPrefillChunk, h.Context), Weights: weights}
	cells := 2 * int64(h.Layers) * int64(h.Context) * int64(h.KVHeads) * int64(h.HeadDim)
	m.KVCacheF32 = 4 * cells
	m.KVCacheF16 = 2 * cells
	q := int64(h.Heads) * int64(h.HeadDim)
	kv := int64(h.KVHeads) * int64(h.HeadDim)
	perToken := 2*int64(h.Dim) + 2*q + 2*kv + 2*int64(h.FFN) + int64(h.Heads)*int64(h.Context)
	m.Activations = 4 * (int64(m.PrefillChunk)*perToken + int64(h.Vocab))
	m.TotalF32 = m.Weights + m.KVCacheF32 + m.Activations
	m.TotalF16 = m.Weights + m.KVCacheF16 + m.Activations
	return m
}
