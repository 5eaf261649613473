// Package mistral declares Llama/Mistral-family models (also Llama-2,
// TinyLlama and TinyStories files) as metalgraph graphs: Config from GGUF
// metadata, weights bound by tensor name with shape and type checks, and
// Build, which returns the graph of one step of n tokens.
//
//	m, err := mistral.Open("mistral-7b.Q4_0.gguf")
//	g, err := mistral.Build(m.Config, m.Weights, 1) // the decode step
//
// # Validation
//
// Model files are untrusted; everything is checked at load, here and
// nowhere later, and errors name the GGUF key or tensor at fault:
//
//   - every size lies in [1, 2^24], and longer products (the KV cache at the
//     trained context) are computed with overflow checks and bounded;
//   - rms epsilon lies in (0, 1), rope.freq_base and the rope scale are
//     positive and finite; rope.scaling.type must be none or linear (yarn,
//     longrope, llama3 are refused), value_length must equal key_length,
//     and mixture-of-experts files are refused;
//   - the tokenizer's token list, the optional vocab_size key, and the rows
//     of token_embd.weight and output.weight agree;
//   - the tensor list is exactly the model's: an unknown tensor (a bias, a
//     q/k norm, rope_freqs.weight) is refused, since running without it
//     gives plausible but wrong text. llama.cpp refuses such files too, so
//     no extra is ignored as harmless. block_count is bounded by the blocks
//     the file holds tensors for before anything is allocated per block;
//   - optionally (Weights.CheckFinite, mrun's --check-tensors) every weight
//     is scanned for NaN and infinity.
package mistral
