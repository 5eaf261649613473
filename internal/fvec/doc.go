// Package fvec holds the float32 vector kernels of the CPU runtime's
// attention and elementwise ops, each in the summation order of ggml's x86
// AVX2 build so that results can match llama.cpp bit for bit:
//
//	s := fvec.Dot(q, k)                // ggml_vec_dot_f32
//	fvec.Axpy(p, v, acc)               // acc += p·v, fused
//	sum := fvec.ExpSum(e, scores, max) // ggml_vec_soft_max_f32
//
// On amd64 with AVX2, FMA and F16C the kernels are Go assembly (AVX-512
// where the CPU has AVX-512 F: two 8-lane AVX2 registers to a 512-bit one,
// the per-lane order unchanged), on arm64
// NEON assembly (each 8-lane AVX2 register a pair of 4-lane ones, the same
// instructions fused or not); elsewhere, and under the purego build tag,
// portable Go computes the same bits (the fused multiply-adds through
// quant.FMA32).
//
// The exp of ExpSum and SiLUMul is ggml_v_expf (ARM's optimized-routines
// polynomial, at most 1.45 + 0.5 ulp from exp) on whole 8-lane blocks and a
// correctly rounded exp on the tail, as ggml does.
package fvec
