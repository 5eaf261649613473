// Package mistral declares Llama/Mistral-family models (also Llama-2,
// TinyLlama and TinyStories files) as metalgraph graphs: Config from GGUF
// metadata, weights bound by tensor name with shape and type checks, and
// Build, which returns the graph of one step of n tokens.
//
//	m, err := mistral.Open("mistral-7b.Q4_0.gguf")
//	g, err := mistral.Build(m.Config, m.Weights, 1) // the decode step
package mistral
