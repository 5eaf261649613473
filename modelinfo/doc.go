// Package modelinfo gathers the facts `mrun inspect` prints about a GGUF
// file: format, architecture, hyperparameters, tokenizer, tensor types and
// quantisation mix, parameter count, a memory estimate and the tensor list.
//
//	f, err := gguf.Open("mistral-7b-q4_0.gguf")
//	if err != nil { ... }
//	defer f.Close()
//	info, err := modelinfo.Inspect(f)
//	if err != nil { ... }
//	info.WriteText(os.Stdout, false) // or json.Marshal(info)
//	fmt.Println(info.QuantMix)       // "Q4_0, output.weight Q6_K"
//
// Only metadata and tensor infos are read, never tensor data, so inspecting
// a mapped multi-gigabyte file touches a few pages.
//
// # Memory estimate
//
// For a run at the model's full context C with prefill steps of
// N = min(512, C) tokens (all sizes in elements, 4 bytes per float):
//
//	weights     = Σ tensor bytes (memory-mapped, not copied)
//	kv cache    = 2 · layers · C · kv_heads · head_dim · (4 for F32, 2 for F16)
//	activations = 4 · (N · (2·dim + 2·heads·head_dim + 2·kv_heads·head_dim
//	                        + 2·ffn + heads·C) + vocab)
//	total       = weights + kv cache + activations
//
// The activation term counts, per token of a prefill step, the residual
// and normed vectors, Q and the attention output, K and V, the gate and up
// projections and one row of attention scores per head, all live at once,
// plus one row of logits; it is an upper bound for one block, since the
// arena is reused from block to block.
package modelinfo
