// Package testmodel gives tests models of real shapes without real
// weights: a Mistral-7B-shaped GGUF (Q4_0 with a Q6_K output, as real
// files) written sparse, so its 4 GB cost no disk and no time, and opened
// through the same code path as any model.
//
//	m := testmodel.Mistral7B(t)
//	g, err := mistral.Build(m.Config, m.Weights, 1)
package testmodel
