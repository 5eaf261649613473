package synth

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/metalgraph/metalgraph/quant"
)

// BenchmarkGenerate measures generating and quantising one Mistral-7B
// FFN matrix (4096 x 14336, 58.7 M values) through the worker pipeline,
// with one worker and with one per core; the custom metric is nanoseconds
// per value (7.24 G values make a Mistral-7B).
func BenchmarkGenerate(b *testing.B) {
	for _, typ := range []quant.Type{quant.Q4_0, quant.Q6_K, quant.Q8_0, quant.F16} {
		for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("%s/workers=%d", typ, workers), func(b *testing.B) {
				specs := []tensorSpec{{name: "ffn_up.weight", typ: typ, rowLen: 4096, rows: 14336, scale: 1. / 64}}
				rb, _ := quant.RowBytes(typ, 4096)
				for b.Loop() {
					chunks, stop := produce(specs, 1, workers)
					for c := range chunks {
						<-c.done
						putBuf(c.buf)
					}
					close(stop)
				}
				b.SetBytes(rb * 14336)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(4096*14336), "ns/value")
			})
		}
	}
}
