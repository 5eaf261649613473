// Package engine runs models: a Session owns the tokens in the KV cache
// and a few compiled programs, one per step size (plans built by
// models/mistral and passes; least recently used sizes are dropped, never
// the decode size 1), prefills prompts in chunks and decodes token by
// token; Generate adds tokenising, sampling, streaming and statistics.
//
//	s, _ := engine.NewSession(model, backend, engine.Options{Context: 2048})
//	st, err := engine.Generate(s, tok, "Once upon a time", engine.GenerateOptions{
//		MaxTokens: 32,
//		OnText:    func(t string) { fmt.Print(t) },
//	})
//	fmt.Printf("%.1f tokens/s\n", st.GenTPS())
//
// A second Generate on the session continues the conversation: only the
// first prompt gets BOS, as in llama.cpp's interactive chat. A step or
// prefill that fails leaves the session where it was. Logits with a NaN or
// an infinity (corrupt weights) are an error naming the position, never
// sampled.
//
// Speculative decoding (GenerateOptions.Speculation) lets a Drafter propose
// up to k tokens (prompt lookup, a smaller draft model of the same
// vocabulary, or one of another vocabulary through text) and verifies them
// in one target step of k + 1 tokens, which the multi-token variants run
// reading each weight once. The acceptance rule keeps the output exactly
// the target's: the same tokens at temperature 0, the same distribution
// when sampling; rejected positions are rolled back with Session.Truncate.
package engine
