// Package engine runs models: a Session owns the KV cache position and one
// compiled program per step size (plans built by models/mistral and
// passes), prefills prompts in chunks and decodes token by token; Generate
// adds tokenising, sampling, streaming and statistics.
//
//	s, _ := engine.NewSession(model, backend, engine.Options{Context: 2048})
//	st, err := engine.Generate(s, tok, "Once upon a time", engine.GenerateOptions{
//		MaxTokens: 32,
//		OnText:    func(t string) { fmt.Print(t) },
//	})
//	fmt.Printf("%.1f tokens/s\n", st.GenTPS())
package engine
