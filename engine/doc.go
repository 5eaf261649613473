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
package engine
