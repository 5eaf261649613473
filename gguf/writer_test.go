package gguf

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/quant"
)

// everyValue has one scalar of each type and one array of each element type.
var everyValue = []KV{
	{"u8", Uint8Value(200)},
	{"i8", Int8Value(-100)},
	{"u16", Uint16Value(60000)},
	{"i16", Int16Value(-30000)},
	{"u32", Uint32Value(4000000000)},
	{"i32", Int32Value(-2000000000)},
	{"f32", Float32Value(1e-5)},
	{"f32.nan", Float32Value(math.Float32frombits(0x7fc00001))},
	{"bool.t", BoolValue(true)},
	{"bool.f", BoolValue(false)},
	{"str", StringValue("héllo\x00world")},
	{"str.empty", StringValue("")},
	{"u64", Uint64Value(math.MaxUint64)},
	{"i64", Int64Value(math.MinInt64)},
	{"f64", Float64Value(-2.5e300)},
	{"a.u8", ArrayValue([]uint8{0, 1, 255})},
	{"a.i8", ArrayValue([]int8{-128, 127})},
	{"a.u16", ArrayValue([]uint16{1, 65535})},
	{"a.i16", ArrayValue([]int16{-32768, 7})},
	{"a.u32", ArrayValue([]uint32{0xFFFFFFFF})},
	{"a.i32", Int32sValue([]int32{1, -1, 6})},
	{"a.f32", Float32sValue([]float32{0, -252, 3.5})},
	{"a.bool", ArrayValue([]bool{true, false, true})},
	{"a.str", StringsValue([]string{"<unk>", "", "▁the"})},
	{"a.u64", ArrayValue([]uint64{math.MaxUint64, 0})},
	{"a.i64", ArrayValue([]int64{math.MinInt64})},
	{"a.f64", ArrayValue([]float64{math.Inf(-1), 0.1})},
	{"a.empty", StringsValue(nil)},
}

type tensorSpec struct {
	name string
	typ  quant.Type
	dims []int64
}

var someTensors = []tensorSpec{
	{"norm", quant.F32, []int64{5}}, // 20 bytes: padding follows
	{"emb", quant.F16, []int64{8, 3}},
	{"q4", quant.Q4_0, []int64{64, 2}},
	{"q6", quant.Q6_K, []int64{256, 1, 1}},
	{"q8", quant.Q8_0, []int64{32, 2, 1, 3}},
	{"bf", quant.BF16, []int64{3}},
	{"q5_1", quant.Q5_1, []int64{32}}, // layout known, not decodable: still fine
}

// writeFile writes every value and someTensors with data bytes
// 1, 2, 3, ... and returns the file and each tensor's data.
func writeFile(t *testing.T, configure func(*Writer)) ([]byte, map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if configure != nil {
		configure(w)
	}
	for _, kv := range everyValue {
		require.NoError(t, w.AddKV(kv.Key, kv.Value))
	}
	for _, s := range someTensors {
		require.NoError(t, w.AddTensor(s.name, s.typ, s.dims))
	}
	require.NoError(t, w.WriteHeader())
	data := map[string][]byte{}
	for i, ti := range w.Tensors() {
		d := make([]byte, ti.Size)
		for j := range d {
			d[j] = byte(i*31 + j)
		}
		data[ti.Name] = d
		require.NoError(t, w.WriteTensorData(ti.Name, d))
	}
	require.NoError(t, w.Close())
	return buf.Bytes(), data
}

func checkWritten(t *testing.T, f *File, data map[string][]byte) {
	t.Helper()
	require.Len(t, f.KVs, len(everyValue))
	for i, kv := range everyValue {
		assert.Equal(t, kv.Key, f.KVs[i].Key)
		assert.Equal(t, kv.Value, f.KVs[i].Value, kv.Key)
	}
	require.Len(t, f.Tensors, len(someTensors))
	for i, s := range someTensors {
		ti := f.Tensors[i]
		assert.Equal(t, s.name, ti.Name)
		assert.Equal(t, s.typ, ti.Type)
		assert.Equal(t, s.dims, ti.Dims)
		assert.Zero(t, ti.Offset%f.Alignment, s.name)
		assert.Equal(t, data[s.name], f.TensorData(&ti), s.name)
	}
}

func TestRoundTrip(t *testing.T) {
	file, data := writeFile(t, nil)
	f, err := Parse(file)
	require.NoError(t, err)
	assert.Equal(t, uint32(3), f.Version)
	assert.Equal(t, int64(32), f.Alignment)
	assert.Equal(t, "", f.Path())
	assert.Zero(t, f.DataOffset%32)
	assert.Zero(t, f.Size()%32, "every tensor, the last included, is padded")
	checkWritten(t, f, data)

	path := filepath.Join(t.TempDir(), "rt.gguf")
	require.NoError(t, os.WriteFile(path, file, 0o644))
	g, err := Open(path)
	require.NoError(t, err)
	defer g.Close()
	checkWritten(t, g, data)

	// Getters over every type.
	i, err := f.Int("i8")
	require.NoError(t, err)
	assert.Equal(t, int64(-100), i)
	_, err = f.Uint("i8")
	assert.EqualError(t, err, "gguf: key i8: is int8 -100, want a non-negative integer")
	u, err := f.Uint("u64")
	require.NoError(t, err)
	assert.Equal(t, uint64(math.MaxUint64), u)
	_, err = f.Int("u64")
	assert.ErrorContains(t, err, "too large for int64")
	x, err := f.Float("i16")
	require.NoError(t, err)
	assert.Equal(t, -30000.0, x)
	b, err := f.Bool("bool.t")
	require.NoError(t, err)
	assert.True(t, b)
	ss, err := f.Strings("a.empty")
	require.NoError(t, err)
	assert.Empty(t, ss)
}

func TestRoundTripVersion2AndAlignment(t *testing.T) {
	file, data := writeFile(t, func(w *Writer) {
		require.NoError(t, w.SetVersion(2))
		require.NoError(t, w.AddKV(KeyAlignment, Uint32Value(64)))
	})
	f, err := Parse(file)
	require.NoError(t, err)
	assert.Equal(t, uint32(2), f.Version)
	assert.Equal(t, int64(64), f.Alignment)
	assert.Zero(t, f.DataOffset%64)
	f.KVs = f.KVs[1:] // drop general.alignment for the comparison
	checkWritten(t, f, data)
}

func TestValueString(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want string
	}{
		{Int8Value(-3), "-3"},
		{Uint64Value(math.MaxUint64), "18446744073709551615"},
		{Float32Value(1e-5), "1e-05"},
		{Float64Value(0.5), "0.5"},
		{BoolValue(true), "true"},
		{StringValue("a\"b"), `"a\"b"`},
		{Int32sValue([]int32{1, 2}), "[2×int32] [1, 2]"},
		{Float32sValue([]float32{1, 2, 3, 4, 5, 6, 7}), "[7×float32] [1, 2, 3, 4, 5, 6, …]"},
	} {
		assert.Equal(t, c.want, c.v.String())
	}
}

// TestRewriteSharedModels re-writes each shared model from its parsed
// contents and expects the original bytes back.
func TestRewriteSharedModels(t *testing.T) {
	for _, p := range sharedModels(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Open(p)
			require.NoError(t, err)
			defer f.Close()
			var buf bytes.Buffer
			w := NewWriter(&buf)
			require.NoError(t, w.SetVersion(f.Version))
			for _, kv := range f.KVs {
				require.NoError(t, w.AddKV(kv.Key, kv.Value))
			}
			for _, ti := range f.Tensors {
				require.NoError(t, w.AddTensor(ti.Name, ti.Type, ti.Dims))
			}
			require.NoError(t, w.WriteHeader())
			for i := range f.Tensors {
				require.NoError(t, w.WriteTensorData(f.Tensors[i].Name, f.TensorData(&f.Tensors[i])))
			}
			require.NoError(t, w.Close())
			require.Len(t, w.Tensors(), len(f.Tensors))
			for i, ti := range w.Tensors() {
				assert.Equal(t, f.Tensors[i], ti, "same size and offset")
			}
			require.True(t, bytes.Equal(f.Bytes(), buf.Bytes()), "re-written file differs (%d vs %d bytes)", buf.Len(), f.Size())
		})
	}
}

func TestWriterErrors(t *testing.T) {
	newW := func() *Writer { return NewWriter(&bytes.Buffer{}) }
	for _, c := range []struct {
		name string
		do   func(w *Writer) error
		want string
	}{
		{"duplicate key", func(w *Writer) error {
			w.AddKV("a", BoolValue(true))
			return w.AddKV("a", BoolValue(false))
		}, `gguf: duplicate key "a"`},
		{"empty key", func(w *Writer) error { return w.AddKV("", BoolValue(true)) }, "gguf: empty key"},
		{"bad alignment", func(w *Writer) error { return w.AddKV(KeyAlignment, Uint32Value(48)) }, "not a power of two"},
		{"alignment type", func(w *Writer) error { return w.AddKV(KeyAlignment, StringValue("32")) }, "is string, want an integer"},
		{"invalid value", func(w *Writer) error { return w.AddKV("x", Value{typ: Array}) }, "key x: invalid value"},
		{"version", func(w *Writer) error { return w.SetVersion(1) }, "cannot write version 1"},
		{"duplicate tensor", func(w *Writer) error {
			w.AddTensor("t", quant.F32, []int64{1})
			return w.AddTensor("t", quant.F32, []int64{1})
		}, `gguf: duplicate tensor name "t"`},
		{"unknown type", func(w *Writer) error { return w.AddTensor("t", quant.Type(99), []int64{1}) }, `gguf: tensor "t": unknown type id 99`},
		{"block size", func(w *Writer) error { return w.AddTensor("t", quant.Q4_0, []int64{31}) }, "not a multiple of the block size 32"},
		{"zero dim", func(w *Writer) error { return w.AddTensor("t", quant.F32, []int64{4, 0}) }, "dimension 1 is 0"},
		{"five dims", func(w *Writer) error { return w.AddTensor("t", quant.F32, []int64{1, 1, 1, 1, 1}) }, "5 dimensions"},
		{"overflow", func(w *Writer) error { return w.AddTensor("t", quant.F32, []int64{1 << 40, 1 << 40}) }, "overflow"},
		{"byte overflow", func(w *Writer) error { return w.AddTensor("t", quant.F64, []int64{1 << 61}) }, "too large"},
		{"data before header", func(w *Writer) error {
			w.AddTensor("t", quant.F32, []int64{1})
			return w.WriteTensorData("t", make([]byte, 4))
		}, "before WriteHeader"},
		{"out of order", func(w *Writer) error {
			w.AddTensor("a", quant.F32, []int64{1})
			w.AddTensor("b", quant.F32, []int64{1})
			w.WriteHeader()
			return w.WriteTensorData("b", make([]byte, 4))
		}, `gguf: tensor "b" written out of order: want "a" next`},
		{"wrong size", func(w *Writer) error {
			w.AddTensor("a", quant.F32, []int64{2})
			w.WriteHeader()
			return w.WriteTensorData("a", make([]byte, 4))
		}, `gguf: tensor "a": got 4 bytes of data, want 8`},
		{"missing tensor", func(w *Writer) error {
			w.AddTensor("a", quant.F32, []int64{2})
			w.WriteHeader()
			return w.Close()
		}, `Close with 0 of 1 tensors written; next is "a"`},
		{"kv after header", func(w *Writer) error {
			w.WriteHeader()
			return w.AddKV("late", BoolValue(true))
		}, "added after WriteHeader"},
		{"no header", func(w *Writer) error { return w.Close() }, "Close before WriteHeader"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newW()
			err := c.do(w)
			require.Error(t, err)
			assert.ErrorContains(t, err, c.want)
			assert.Regexp(t, "^gguf: ", err.Error())
			assert.Equal(t, err, w.Close(), "errors are sticky")
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterReportsIOErrors(t *testing.T) {
	w := NewWriter(failingWriter{})
	require.NoError(t, w.AddKV("k", BoolValue(true)))
	err := w.WriteHeader()
	assert.EqualError(t, err, "gguf: write header: disk full")
}
