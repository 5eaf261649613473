package testmodel

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/quant"
)

// Tensor is one tensor of a model being rewritten.
type Tensor struct {
	Name string
	Type quant.Type
	Dims []int64 // GGUF order
	Data []byte
}

// Model is an editable copy of a GGUF file's contents.
type Model struct {
	KVs     []gguf.KV
	Tensors []Tensor
}

// SetKV replaces (or adds) a metadata value.
func (m *Model) SetKV(key string, v gguf.Value) {
	for i := range m.KVs {
		if m.KVs[i].Key == key {
			m.KVs[i].Value = v
			return
		}
	}
	m.KVs = append(m.KVs, gguf.KV{Key: key, Value: v})
}

// Drop removes a tensor by name.
func (m *Model) Drop(name string) {
	out := m.Tensors[:0]
	for _, t := range m.Tensors {
		if t.Name != name {
			out = append(out, t)
		}
	}
	m.Tensors = out
}

// Tensor returns a tensor by name for editing.
func (m *Model) Tensor(name string) *Tensor {
	for i := range m.Tensors {
		if m.Tensors[i].Name == name {
			return &m.Tensors[i]
		}
	}
	return nil
}

// SetF32 sets element i of the F32 tensor name, on a copy of its data
// (the source file is mapped read-only): the way tests make a model whose
// weights hold a NaN.
func (m *Model) SetF32(t testing.TB, name string, i int, v float32) {
	t.Helper()
	tn := m.Tensor(name)
	if tn == nil || tn.Type != quant.F32 || 4*(i+1) > len(tn.Data) {
		t.Fatalf("testmodel: no F32 element %d in tensor %q", i, name)
	}
	tn.Data = slices.Clone(tn.Data)
	binary.LittleEndian.PutUint32(tn.Data[4*i:], math.Float32bits(v))
}

// Rewrite copies the GGUF file src through edit into a new file in the
// test's temporary directory and returns its path: the way tests make a
// model whose tensors do not match its metadata. Tensor data whose size no
// longer fits its type and dims is replaced by zeros of the right size.
func Rewrite(t testing.TB, src string, edit func(*Model)) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &Model{KVs: append([]gguf.KV(nil), f.KVs...)}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		m.Tensors = append(m.Tensors, Tensor{ti.Name, ti.Type, append([]int64(nil), ti.Dims...), f.TensorData(ti)})
	}
	edit(m)
	path := filepath.Join(t.TempDir(), "rewritten-"+filepath.Base(src))
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := gguf.NewWriter(out)
	for _, kv := range m.KVs {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for _, tn := range m.Tensors {
		if err := w.AddTensor(tn.Name, tn.Type, tn.Dims); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	for i, tn := range m.Tensors {
		data := tn.Data
		if size := w.Tensors()[i].Size; int64(len(data)) != size {
			data = make([]byte, size)
		}
		if err := w.WriteTensorData(tn.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
