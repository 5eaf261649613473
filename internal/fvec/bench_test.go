package fvec

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// Each kernel on a 4096-element row (a model dimension) and a 128-element
// one (a head), per kernel set; throughput is of the bytes the kernel reads.
func BenchmarkKernels(b *testing.B) {
	for _, n := range []int{128, 4096} {
		rng := rand.New(rand.NewPCG(3, 4))
		x, y, h := randRow(rng, n), randRow(rng, n), randHalfRow(rng, n)
		dst := make([]float32, n)
		kernels := []struct {
			name  string
			bytes int
			run   func()
		}{
			{"Dot", 8 * n, func() { Dot(x, y) }},
			{"DotF16", 6 * n, func() { DotF16(x, h) }},
			{"Axpy", 8 * n, func() { Axpy(1e-3, x, dst) }},
			{"AxpyF16", 6 * n, func() { AxpyF16(1e-3, h, dst) }},
			{"SumSq", 4 * n, func() { SumSq(x) }},
			{"Max", 4 * n, func() { Max(x) }},
			{"ExpSum", 4 * n, func() { ExpSum(dst, x, 8) }},
			{"SiLUMul", 8 * n, func() { SiLUMul(dst, x, y) }},
			{"Scale", 4 * n, func() { Scale(dst, x, 1e-3) }},
			{"Mul", 8 * n, func() { Mul(dst, x, y) }},
			{"Add", 8 * n, func() { Add(dst, x, y) }},
			{"Rotate", 8 * n, func() { Rotate(dst, x, y) }},
		}
		for _, set := range kernelSets() {
			for _, k := range kernels {
				b.Run(k.name+"/"+set.name+"/"+strconv.Itoa(n), func(b *testing.B) {
					saved := active
					active = set
					defer func() { active = saved }()
					b.SetBytes(int64(k.bytes))
					for b.Loop() {
						k.run()
					}
				})
			}
		}
	}
}
