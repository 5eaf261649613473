// Package sample picks the next token from logits: greedy, or temperature
// sampling truncated by top-k, top-p and min-p, with a repetition penalty,
// in llama.cpp's order (penalty → top-k → top-p → min-p → temperature).
// A seed makes it deterministic.
//
//	s, _ := sample.New(sample.Options{Temperature: 0.8, TopK: 40, TopP: 0.95, Seed: 42})
//	next := s.Sample(logits)
//	s.Accept(next)
package sample
