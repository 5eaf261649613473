// Package synth writes GGUF models with deterministic random weights, in
// the layout llama.cpp writes for architecture llama, for tests and
// benchmarks that need a model of a real shape (Mistral-7B) without
// downloading one.
//
//	err := synth.WriteFile(ctx, "/tmp/m7b-q4_0.gguf", synth.Options{
//		Shape: "mistral-7b", // or "tiny"
//		Type:  "q4_0",       // Q4_0 matrices, output.weight Q6_K, norms F32
//		Seed:  1,
//		Progress: func(done, total int64) { ... },
//	})
//
// Writing streams: rows are generated from N(0,1) (a PCG generator seeded
// per row from the seed and the tensor name), quantised with package quant
// a chunk of rows at a time by parallel workers, and written in file
// order, so a 4 GB model needs a few megabytes of memory and the bytes do
// not depend on the number of workers. The same Options give the same file.
// Cancelling the context stops the writing within a few chunks, and
// WriteFile then removes its temporary file.
//
// Shapes:
//
//	tiny        dim 256, 2 blocks, 8 heads / 4 KV heads (head dim 32), ffn 768,
//	            vocab 512, context 512, rope base 10000 (the shape of
//	            ../shared's synth-d256-gqa models; every row length is a
//	            multiple of 256, so K-quants apply)
//	mistral-7b  Mistral-7B v0.2: dim 4096, 32 blocks, 32 heads / 8 KV heads
//	            (head dim 128), ffn 14336, vocab 32000, context 32768,
//	            rope base 1e6, rms eps 1e-5, no sliding window; 7.24 B parameters
//
// Types: q4_0 (Q4_0 for every matrix including token_embd, output.weight
// Q6_K, as a default llama-quantize Q4_0 of Mistral; file type 2), q8_0
// (7), f16 (1) and f32 (0). Norm weights are always F32.
//
// Without Options.VocabFrom the vocabulary is byte-level SentencePiece,
// laid out like Llama's: <unk>, <s>, </s>, the 256 byte tokens, then unique
// filler pieces ("▁", letters, "▁" + letters, ...) scored so that the
// tokenizer's merges reach them. With VocabFrom, every tokenizer.* key of
// that file is copied and the vocabulary size is its token count.
package synth
