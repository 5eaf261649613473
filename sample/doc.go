// Package sample picks the next token from logits: greedy, or temperature
// sampling truncated by top-k, top-p and min-p, with a repetition penalty,
// in llama.cpp's order (penalty → top-k → top-p → min-p → temperature).
// A seed makes it deterministic.
//
//	s, _ := sample.New(sample.Options{Temperature: 0.8, TopK: 40, TopP: 0.95, Seed: 42})
//	next := s.Sample(logits)
//	s.Accept(next)
//
// Each step follows its llama.cpp definition (b4747, src/llama-sampling.cpp):
//
//   - Repetition penalty: a token among the last RepeatLastN accepted
//     tokens (prompt included) has its logit divided by the penalty if
//     positive and multiplied by it otherwise, once however often it
//     occurred.
//   - Top-k: the K largest logits stay; K ≤ 0 keeps all.
//   - Top-p: after a softmax over the remaining tokens, sorted by
//     descending probability, the smallest prefix whose cumulative
//     probability is ≥ P stays, and never fewer than one token (min_keep
//     1). A cumulative sum exactly P stops there; P ≥ 1 keeps all, P = 0
//     only the most likely token.
//   - Min-p: tokens with probability ≥ MinP × the largest stay (the same
//     softmax as top-p, so the ratio is llama.cpp's logit ≥ max + ln MinP);
//     MinP = 0 keeps all.
//   - Temperature: the remaining logits are divided by it before the final
//     softmax; 0 is greedy, the largest penalised logit (ties to the lowest
//     id), which the truncations never remove.
//
// Deliberate differences: the softmax is computed in float64 (llama.cpp
// uses float32, and top-p's float32 sum is kept), so a top-p boundary can
// differ only by float32 rounding of the probabilities; RepeatPenalty 0 means off rather than a division by zero;
// RepeatLastN must be ≥ 0 (llama.cpp's -1, the whole context, is not
// offered); the random stream is Go's PCG, so a seed does not give
// llama.cpp's tokens.
package sample
