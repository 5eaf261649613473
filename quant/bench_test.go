package quant

import (
	"math/rand/v2"
	"testing"
)

const benchN = 4096

func benchRow(b *testing.B, typ Type) ([]byte, []float32) {
	b.Helper()
	x := randomRow(rand.New(rand.NewPCG(1, 1)), benchN)
	nb, _ := RowBytes(typ, benchN)
	w := make([]byte, nb)
	if err := QuantizeRow(typ, x, w); err != nil {
		b.Fatal(err)
	}
	return w, x
}

func benchDequantize(b *testing.B, typ Type) {
	w, _ := benchRow(b, typ)
	dst := make([]float32, benchN)
	b.SetBytes(int64(len(w)))
	for b.Loop() {
		if err := DequantizeRow(typ, w, dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDequantizeF16(b *testing.B)  { benchDequantize(b, F16) }
func BenchmarkDequantizeBF16(b *testing.B) { benchDequantize(b, BF16) }
func BenchmarkDequantizeQ4_0(b *testing.B) { benchDequantize(b, Q4_0) }
func BenchmarkDequantizeQ8_0(b *testing.B) { benchDequantize(b, Q8_0) }
func BenchmarkDequantizeQ4_K(b *testing.B) { benchDequantize(b, Q4_K) }
func BenchmarkDequantizeQ5_K(b *testing.B) { benchDequantize(b, Q5_K) }
func BenchmarkDequantizeQ6_K(b *testing.B) { benchDequantize(b, Q6_K) }

func benchDot(b *testing.B, typ Type) {
	w, _ := benchRow(b, typ)
	x := randomRow(rand.New(rand.NewPCG(2, 2)), benchN)
	act := make([]byte, ActivationBytes(typ, benchN))
	if err := QuantizeActivation(typ, x, act); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(w)))
	var sink float32
	for b.Loop() {
		sink += DotRow(typ, w, act, x)
	}
	_ = sink
}

func BenchmarkDotF32(b *testing.B)  { benchDot(b, F32) }
func BenchmarkDotF16(b *testing.B)  { benchDot(b, F16) }
func BenchmarkDotBF16(b *testing.B) { benchDot(b, BF16) }
func BenchmarkDotQ4_0(b *testing.B) { benchDot(b, Q4_0) }
func BenchmarkDotQ8_0(b *testing.B) { benchDot(b, Q8_0) }
func BenchmarkDotQ4_K(b *testing.B) { benchDot(b, Q4_K) }
func BenchmarkDotQ5_K(b *testing.B) { benchDot(b, Q5_K) }
func BenchmarkDotQ6_K(b *testing.B) { benchDot(b, Q6_K) }

func benchQuantizeActivation(b *testing.B, typ Type) {
	x := randomRow(rand.New(rand.NewPCG(3, 3)), benchN)
	act := make([]byte, ActivationBytes(typ, benchN))
	b.SetBytes(4 * benchN)
	for b.Loop() {
		if err := QuantizeActivation(typ, x, act); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuantizeQ8_0(b *testing.B) { benchQuantizeActivation(b, Q4_0) }
func BenchmarkQuantizeQ8_K(b *testing.B) { benchQuantizeActivation(b, Q6_K) }
