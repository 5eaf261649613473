package quant

import (
	"math/rand/v2"
	"testing"
)

// K-quant and half-float lane-order kernels, the Go emulation and the
// portable reference, on one 4096-element row and on a 4096×4096 matrix.
// Throughput is of weight bytes.

// kBenchWeights returns rows of benchN elements of a K-quant type: random
// quants and scale bytes, ordinary F16 scales.
func kBenchWeights(t Type, rows int) []byte {
	rng := rand.New(rand.NewPCG(7, 7))
	bb := t.BlockBytes()
	w := make([]byte, rows*benchN/QK_K*bb)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for off := 0; off < len(w); off += bb {
		if t == Q6_K {
			putF16(w[off+q6kD:], 0.01)
		} else {
			putF16(w[off:], 0.01)
			putF16(w[off+2:], 0.001)
		}
	}
	return w
}

func kBenchActivations(b *testing.B, tokens int) []byte {
	b.Helper()
	a := make([]byte, tokens*benchN/QK_K*292)
	if err := QuantizeRow(Q8_K, randomRow(rand.New(rand.NewPCG(8, 8)), tokens*benchN), a); err != nil {
		b.Fatal(err)
	}
	return a
}

func benchKLaneRow(b *testing.B, t Type) {
	w, a := kBenchWeights(t, 1), kBenchActivations(b, 1)
	dots := map[string]func(w, a []byte) float32{
		"portable": func(w, a []byte) float32 { return kPortableDots[t](w, a, benchN) },
	}
	for _, ks := range kKernelSets() {
		dots["lanes-"+ks.name] = kLaneDotOf(ks, t).one
	}
	for name, dot := range dots {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			var sink float32
			for b.Loop() {
				sink += dot(w, a)
			}
			_ = sink
		})
	}
}

func BenchmarkKLaneRowQ4_K(b *testing.B) { benchKLaneRow(b, Q4_K) }
func BenchmarkKLaneRowQ5_K(b *testing.B) { benchKLaneRow(b, Q5_K) }
func BenchmarkKLaneRowQ6_K(b *testing.B) { benchKLaneRow(b, Q6_K) }

// benchKMatVec times y = W·x for W of 4096 rows: row by row with the
// portable dot and each kernel set, four rows per call (rows), and four
// tokens per weight row (tokens4: one op is four mat-vecs).
func benchKMatVec(b *testing.B, t Type) {
	const rows = benchN
	w, a4 := kBenchWeights(t, rows), kBenchActivations(b, 4)
	wb, a := len(w)/rows, a4[:len(a4)/4]
	y := make([]float32, 4*rows)
	run := func(name string, matvec func()) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				matvec()
			}
		})
	}
	run("portable", func() {
		for r := range rows {
			y[r] = kPortableDots[t](w[r*wb:(r+1)*wb], a, benchN)
		}
	})
	for _, ks := range kKernelSets() {
		d := kLaneDotOf(ks, t)
		run("lanes-"+ks.name, func() {
			for r := range rows {
				y[r] = d.one(w[r*wb:(r+1)*wb], a)
			}
		})
		run("rows-"+ks.name, func() { dotRows(d, t, y[:rows], w, a, benchN) })
		run("tokens4-"+ks.name, func() {
			for r := range rows {
				dotTokens(d, t, y[4*r:4*r+4], w[r*wb:(r+1)*wb], a4, benchN)
			}
		})
	}
}

func BenchmarkKMatVecQ4_K(b *testing.B) { benchKMatVec(b, Q4_K) }
func BenchmarkKMatVecQ5_K(b *testing.B) { benchKMatVec(b, Q5_K) }
func BenchmarkKMatVecQ6_K(b *testing.B) { benchKMatVec(b, Q6_K) }

// benchHalf times the F16 or BF16 orders on one row (rows = 1) or a
// matrix of rows, against the portable float64 dot.
func benchHalf(b *testing.B, t Type, rows int) {
	rng := rand.New(rand.NewPCG(9, 9))
	w := halfRow(t, randomRow(rng, rows*benchN))
	_, x := randomHalfRow(rng, t, benchN)
	portable := map[Type]func(w []byte, x []float32) float32{F16: DotF16F32, BF16: DotBF16F32}[t]
	dots := map[string]func(w []byte, x []float32) float32{"portable": portable}
	for _, ks := range halfKernelSets() {
		vec, tiny := ks.half.f16Vec, ks.half.f16Tiny
		if t == BF16 {
			vec, tiny = ks.half.bf16Vec, ks.half.bf16Tiny
		}
		dots["vec-"+ks.name], dots["tinyblas-"+ks.name] = vec, tiny
	}
	for name, dot := range dots {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			var sink float32
			for b.Loop() {
				for r := range rows {
					sink += dot(w[2*benchN*r:2*benchN*(r+1)], x)
				}
			}
			_ = sink
		})
	}
}

func BenchmarkHalfRowF16(b *testing.B)     { benchHalf(b, F16, 1) }
func BenchmarkHalfRowBF16(b *testing.B)    { benchHalf(b, BF16, 1) }
func BenchmarkHalfMatVecF16(b *testing.B)  { benchHalf(b, F16, benchN) }
func BenchmarkHalfMatVecBF16(b *testing.B) { benchHalf(b, BF16, benchN) }
