package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// FuzzParse checks that Parse never panics and, on hostile input, fails
// with a "gguf: " error; whatever it accepts must be self-consistent and
// survive a write and re-parse unchanged.
func FuzzParse(f *testing.F) {
	if root := shareddata.Root(); root != "" {
		for _, name := range []string{"stories260K.gguf", "derived/synth-d256-gqa-Q4_0.gguf", "llama-2-tiny-random.gguf"} {
			if data, err := os.ReadFile(filepath.Join(root, "models", name)); err == nil {
				if g, err := Parse(data); err == nil {
					f.Add(shrink(f, g))
				}
			}
		}
	}
	f.Add(header(3, 2, 2).kv("general.alignment", 64).str("a").u32(uint32(Array)).u32(uint32(String)).u64(2).str("x").str("").
		tensor("w", quant.Q4_0, 0, 32, 2).tensor("n", quant.F32, 64, 3).data(128))
	f.Add(header(2, 1, 0).tensor("t", quant.Q6_K, 0, 256).data(210))
	f.Add(header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Array)).u64(1).u32(0).Bytes())
	f.Add(header(3, 1<<40, 0).Bytes())
	f.Add(header(1, 0, 0).Bytes())
	f.Add([]byte("GGUF"))

	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Fatalf("error without the gguf prefix: %v", err)
			}
			return
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if int64(len(g.TensorData(ti))) != ti.Size || ti.Offset%g.Alignment != 0 {
				t.Fatalf("tensor %q: %d bytes at %d, want %d aligned to %d", ti.Name, len(g.TensorData(ti)), ti.Offset, ti.Size, g.Alignment)
			}
		}
		checkRewrite(t, g)
	})
}

// checkRewrite writes g with the Writer and checks that parsing the result
// gives the same metadata, tensors and tensor bytes.
func checkRewrite(t *testing.T, g *File) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetVersion(g.Version)
	for _, kv := range g.KVs {
		w.AddKV(kv.Key, kv.Value)
	}
	for _, ti := range g.Tensors {
		w.AddTensor(ti.Name, ti.Type, ti.Dims)
	}
	w.WriteHeader()
	for i := range g.Tensors {
		w.WriteTensorData(g.Tensors[i].Name, g.TensorData(&g.Tensors[i]))
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the writer rejects what the reader accepted: %v", err)
	}
	h, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if len(h.KVs) != len(g.KVs) || len(h.Tensors) != len(g.Tensors) {
		t.Fatalf("re-parse: %d kvs, %d tensors; want %d, %d", len(h.KVs), len(h.Tensors), len(g.KVs), len(g.Tensors))
	}
	for i, kv := range g.KVs {
		if h.KVs[i].Key != kv.Key || !bytes.Equal(encode(h.KVs[i].Value), encode(kv.Value)) {
			t.Fatalf("kv %q: %v became %v", kv.Key, kv.Value, h.KVs[i].Value)
		}
	}
	for i := range g.Tensors {
		a, b := &g.Tensors[i], &h.Tensors[i]
		if a.Name != b.Name || a.Type != b.Type || a.Size != b.Size || !bytes.Equal(g.TensorData(a), h.TensorData(b)) {
			t.Fatalf("tensor %q changed", a.Name)
		}
	}
}

// encode returns v's exact encoding, so that NaNs compare by their bits.
func encode(v Value) []byte {
	var b bytes.Buffer
	writeValue(&b, v)
	return b.Bytes()
}

// shrink rewrites a real file small enough to fuzz quickly: the same keys
// with arrays cut to a few elements, and only its small tensors. Large
// seeds make the fuzzer spend its time minimising.
func shrink(f *testing.F, g *File) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, kv := range g.KVs {
		v := kv.Value
		if v.Type() == Array && v.Len() > 4 {
			v = firstElems(v, 4)
		}
		w.AddKV(kv.Key, v)
	}
	var small []*TensorInfo
	for i := range g.Tensors {
		if ti := &g.Tensors[i]; ti.Size <= 1024 {
			small = append(small, ti)
			w.AddTensor(ti.Name, ti.Type, ti.Dims)
		}
	}
	w.WriteHeader()
	for _, ti := range small {
		w.WriteTensorData(ti.Name, g.TensorData(ti))
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// firstElems returns an array of v's first n elements.
func firstElems(v Value, n int) Value {
	switch a := v.arr.(type) {
	case []uint8:
		return ArrayValue(a[:n])
	case []int8:
		return ArrayValue(a[:n])
	case []uint16:
		return ArrayValue(a[:n])
	case []int16:
		return ArrayValue(a[:n])
	case []uint32:
		return ArrayValue(a[:n])
	case []int32:
		return ArrayValue(a[:n])
	case []float32:
		return ArrayValue(a[:n])
	case []bool:
		return ArrayValue(a[:n])
	case []string:
		return ArrayValue(a[:n])
	case []uint64:
		return ArrayValue(a[:n])
	case []int64:
		return ArrayValue(a[:n])
	case []float64:
		return ArrayValue(a[:n])
	}
	return v
}
