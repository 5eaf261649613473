package quant

import (
	"math/rand/v2"
	"testing"
)

// Lane-order kernels against the portable reference, on one 4096-element
// row and on a 4096×4096 matrix (a mat-vec). Throughput is of weight bytes.

// benchWeights returns rows of benchN elements of type t (Q4_0 or Q8_0):
// random quants, ordinary scales.
func benchWeights(t Type, rows int) []byte {
	rng := rand.New(rand.NewPCG(5, 5))
	bb := t.BlockBytes()
	w := make([]byte, rows*benchN/32*bb)
	for i := range w {
		w[i] = byte(rng.Uint32())
	}
	for off := 0; off < len(w); off += bb {
		putF16(w[off:], 0.01)
	}
	return w
}

func benchActivations(b *testing.B, tokens int) []byte {
	b.Helper()
	x := randomRow(rand.New(rand.NewPCG(6, 6)), tokens*benchN)
	a := make([]byte, tokens*benchN/32*34)
	if err := QuantizeRow(Q8_0, x, a); err != nil {
		b.Fatal(err)
	}
	return a
}

type benchDots struct {
	portable, lanes func(w, a []byte, n int) float32
	rows, tokens    func(dst []float32, w, a []byte, n int)
}

var benchDotsOf = map[Type]benchDots{
	Q4_0: {DotQ4_0Q8_0, DotQ4_0Q8_0Lanes, DotQ4_0Q8_0Rows, DotQ4_0Q8_0Tokens},
	Q8_0: {DotQ8_0Q8_0, DotQ8_0Q8_0Lanes, DotQ8_0Q8_0Rows, DotQ8_0Q8_0Tokens},
}

func benchLaneRow(b *testing.B, t Type) {
	w, a := benchWeights(t, 1), benchActivations(b, 1)
	dots := map[string]func(w, a []byte, n int) float32{"portable": benchDotsOf[t].portable}
	// Every SIMD set the CPU runs, so that they can be compared.
	for _, ks := range kernelSets()[1:] {
		one := laneDotOf(ks, t).one
		dots["lanes-"+ks.name] = func(w, a []byte, _ int) float32 { return one(w, a) }
	}
	for name, dot := range dots {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			var sink float32
			for b.Loop() {
				sink += dot(w, a, benchN)
			}
			_ = sink
		})
	}
}

func BenchmarkLaneRowQ4_0(b *testing.B) { benchLaneRow(b, Q4_0) }
func BenchmarkLaneRowQ8_0(b *testing.B) { benchLaneRow(b, Q8_0) }

// benchMatVec times y = W·x for W of 4096 rows: row by row with the
// portable and the lane-order dot product, and with each SIMD kernel set
// four rows per call (rows) and four tokens per weight row (tokens4: one
// op is four mat-vecs).
func benchMatVec(b *testing.B, t Type) {
	const rows = benchN
	w, a := benchWeights(t, rows), benchActivations(b, 4)
	wb := len(w) / rows
	a0 := a[:len(a)/4]
	d := benchDotsOf[t]
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
			y[r] = d.portable(w[r*wb:(r+1)*wb], a0, benchN)
		}
	})
	run("lanes-"+LaneKernels(), func() {
		for r := range rows {
			y[r] = d.lanes(w[r*wb:(r+1)*wb], a0, benchN)
		}
	})
	// Every SIMD set the CPU runs, so that they can be compared.
	for _, ks := range kernelSets()[1:] {
		ld := laneDotOf(ks, t)
		run("rows-"+ks.name, func() { dotRows(ld, t, y[:rows], w, a0, benchN) })
		run("tokens4-"+ks.name, func() {
			for r := range rows {
				dotTokens(ld, t, y[4*r:4*r+4], w[r*wb:(r+1)*wb], a, benchN)
			}
		})
	}
}

func BenchmarkMatVecQ4_0(b *testing.B) { benchMatVec(b, Q4_0) }
func BenchmarkMatVecQ8_0(b *testing.B) { benchMatVec(b, Q8_0) }

// BenchmarkQuantizeQ8_0Kernels is BenchmarkQuantizeQ8_0 with each kernel
// set the CPU runs ("go" is the portable encoder) and both rounding rules.
func BenchmarkQuantizeQ8_0Kernels(b *testing.B) {
	x := randomRow(rand.New(rand.NewPCG(3, 3)), benchN)
	a := make([]byte, benchN/32*34)
	for _, ks := range kernelSets() {
		for name, enc := range map[string]func(x []float32, dst []byte){"portable": ks.quantizeQ8_0, "lanes": ks.quantizeQ8_0Lanes} {
			b.Run(name+"-"+ks.name, func(b *testing.B) {
				b.SetBytes(4 * benchN)
				for b.Loop() {
					enc(x, a)
				}
			})
		}
	}
}
