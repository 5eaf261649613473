// Package cpurt is the CPU runtime: it executes any plan.Plan with a Go
// kernel for every contract of package plan, and is the reference every
// other runtime is tested against.
//
//	rt, err := cpurt.New(model.File.Bytes(), cpurt.Options{}) // all cores
//	defer rt.Close()
//	prog, err := rt.Compile(res.Plan)              // a plan from passes.Run
//	logits, err := prog.Run([]int32{1, 403, 407}, 0) // N×vocab floats
//
// Numerics follow llama.cpp's CPU backend (its AVX2 build, which made the
// goldens): mat-vecs convert each activation row once to the weight type's
// dot type (Q8_0, Q8_K, or F16 / BF16 rounding) and take integer dot
// products (package quant) or, for F16 and BF16 weights, exact products
// summed in the order of ggml's x86 build, which differs between one token
// and several (halfdot.go; several tokens' mat-muls take tiles of four rows
// by eight tokens that keep every pair's sum apart, halftile.go). Q4_0 weights are repacked once into tiles of
// eight rows (tiles.go) and run in the order of ggml's repacked Q4_0
// kernels, for every step size; Q8_0 and the K-quants use ggml's AVX2 lane
// order (quant's ...Lanes). All of these give the same bits on every
// machine (AVX2 or NEON assembly where the CPU has it, Go elsewhere), and
// make the Q4_0, Q8_0, BF16 and K-quant goldens bit-exact or nearly so.
// Attention, softmax, rmsnorm, rope and silu follow ggml's vector orders
// too (internal/fvec). An F16 KV cache stores K and V as F16 and, like
// ggml's non-flash attention, rounds Q and the softmax probabilities to
// F16 before the two products.
//
// A Runtime owns a persistent worker pool (each dispatch is split into row,
// token or head ranges across the workers, with a barrier between
// dispatches) and one KV cache, shared by every program compiled from it:
// plans of N = 64, 5 and 1 tokens of one model continue the same cache.
// Weights are the caller's buffer (usually the memory-mapped model file),
// viewed and never written; only the Q4_0 mat-vec weights are copied, into
// tiles shared through a TileStore, and their originals released. If that file shrinks while in use,
// the reads past its end fault; Run returns that as an error (see
// internal/fault) instead of the process dying of SIGBUS.
package cpurt
