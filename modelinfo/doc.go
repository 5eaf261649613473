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
// # Memory
//
// The memory section is not a formula: it plans the model's decode step
// (N = 1) and a prefill step with the pass pipeline, at the context and
// prefill step size mrun run uses by default, and reports the plans'
// buffers: the KV cache, the activation arenas and the logits, beside the
// mapped weights. The KV cache at the model's full trained context is
// shown too, since --ctx can ask for it.
package modelinfo
