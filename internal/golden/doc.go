// Package golden reads the reference outputs that llama.cpp produced for
// the shared test models (../shared/models/golden; the format is described
// in that folder's README): prompt ids, logits at every position, and the
// greedy continuation.
//
//	r, err := golden.Read(path)
//	r.Logits[0] // the distribution after the first prompt token
package golden
