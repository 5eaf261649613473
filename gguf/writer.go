package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/metalgraph/metalgraph/quant"
)

// Writer streams a GGUF file: AddKV and AddTensor declare the contents,
// WriteHeader writes metadata and tensor infos, then WriteTensorData is
// called once per tensor in declaration order. Only the header is held in
// memory. Padding matches llama.cpp: to the alignment after the header
// (when there are tensors) and after every tensor's data. The first error
// is sticky: every later call returns it.
type Writer struct {
	w         io.Writer
	version   uint32
	kvs       []KV
	keys      map[string]bool
	tensors   []TensorInfo
	names     map[string]bool
	alignment int64
	header    bool  // WriteHeader done
	next      int   // index of the next tensor to write
	err       error // first error
}

// NewWriter returns a Writer for version 3 files with the default
// alignment; a general.alignment KV overrides the alignment.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, version: 3, keys: map[string]bool{}, names: map[string]bool{}, alignment: DefaultAlignment}
}

func (w *Writer) fail(format string, args ...any) error {
	if w.err == nil {
		w.err = fmt.Errorf("gguf: "+format, args...)
	}
	return w.err
}

// SetVersion selects the file version, 2 or 3 (same layout); before WriteHeader.
func (w *Writer) SetVersion(v uint32) error {
	if w.err != nil {
		return w.err
	}
	if w.header {
		return w.fail("SetVersion after WriteHeader")
	}
	if v != 2 && v != 3 {
		return w.fail("cannot write version %d (want 2 or 3)", v)
	}
	w.version = v
	return nil
}

// AddKV declares a metadata entry. Keys must be unique and non-empty.
func (w *Writer) AddKV(key string, v Value) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case w.header:
		return w.fail("key %s added after WriteHeader", key)
	case key == "":
		return w.fail("empty key")
	case w.keys[key]:
		return w.fail("duplicate key %q", key)
	case !v.typ.Valid() || v.typ == Array && (!v.elem.Valid() || v.elem == Array || v.arr == nil):
		return w.fail("key %s: invalid value of type %s", key, v.describe())
	}
	if key == KeyAlignment {
		a, err := alignmentOf(v)
		if err != nil {
			w.err = err
			return err
		}
		w.alignment = a
	}
	w.keys[key] = true
	w.kvs = append(w.kvs, KV{Key: key, Value: v})
	return nil
}

// AddTensor declares a tensor; its size comes from the type's block layout
// and its offset is assigned by WriteHeader, in declaration order.
func (w *Writer) AddTensor(name string, typ quant.Type, dims []int64) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case w.header:
		return w.fail("tensor %q added after WriteHeader", name)
	case name == "":
		return w.fail("empty tensor name")
	case w.names[name]:
		return w.fail("duplicate tensor name %q", name)
	}
	t, err := newTensorInfo(name, typ, append([]int64{}, dims...))
	if err != nil {
		w.err = err
		return err
	}
	w.names[name] = true
	w.tensors = append(w.tensors, t)
	return nil
}

// Tensors returns the declared tensors; offsets are final after WriteHeader.
func (w *Writer) Tensors() []TensorInfo { return w.tensors }

// WriteHeader assigns tensor offsets and writes the magic, version,
// metadata and tensor infos, padded to the alignment.
func (w *Writer) WriteHeader() error {
	if w.err != nil {
		return w.err
	}
	if w.header {
		return w.fail("WriteHeader called twice")
	}
	w.header = true
	var off int64
	for i := range w.tensors {
		t := &w.tensors[i]
		t.Offset = off
		if t.Size > math.MaxInt64-off-w.alignment {
			return w.fail("tensor %q: data section exceeds 2^63 bytes", t.Name)
		}
		off = alignUp(off+t.Size, w.alignment)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("GGUF")
	b.Write(le.AppendUint32(nil, w.version))
	b.Write(le.AppendUint64(nil, uint64(len(w.tensors))))
	b.Write(le.AppendUint64(nil, uint64(len(w.kvs))))
	for _, kv := range w.kvs {
		writeString(&b, kv.Key)
		b.Write(le.AppendUint32(nil, uint32(kv.Value.typ)))
		writeValue(&b, kv.Value)
	}
	for _, t := range w.tensors {
		writeString(&b, t.Name)
		b.Write(le.AppendUint32(nil, uint32(len(t.Dims))))
		for _, d := range t.Dims {
			b.Write(le.AppendUint64(nil, uint64(d)))
		}
		b.Write(le.AppendUint32(nil, uint32(t.Type)))
		b.Write(le.AppendUint64(nil, uint64(t.Offset)))
	}
	if len(w.tensors) > 0 {
		b.Write(make([]byte, alignUp(int64(b.Len()), w.alignment)-int64(b.Len())))
	}
	if _, err := w.w.Write(b.Bytes()); err != nil {
		return w.fail("write header: %v", err)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(s))))
	b.WriteString(s)
}

// writeValue encodes v without its type id; arrays carry element type and count.
func writeValue(b *bytes.Buffer, v Value) {
	le := binary.LittleEndian
	switch v.typ {
	case String:
		writeString(b, v.str)
		return
	case Array:
		b.Write(le.AppendUint32(nil, uint32(v.elem)))
		n := v.Len()
		b.Write(le.AppendUint64(nil, uint64(n)))
		for i := range n {
			writeValue(b, v.index(i))
		}
		return
	}
	var buf [8]byte
	le.PutUint64(buf[:], v.bits)
	b.Write(buf[:v.typ.size()])
}

// WriteTensorData writes the data of the next declared tensor, which must
// be name, and exactly its size, followed by padding to the alignment.
func (w *Writer) WriteTensorData(name string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		return w.fail("tensor %q data written before WriteHeader", name)
	}
	if w.next >= len(w.tensors) {
		return w.fail("tensor %q data written after all %d tensors", name, len(w.tensors))
	}
	t := w.tensors[w.next]
	if name != t.Name {
		return w.fail("tensor %q written out of order: want %q next", name, t.Name)
	}
	if int64(len(data)) != t.Size {
		return w.fail("tensor %q: got %d bytes of data, want %d", name, len(data), t.Size)
	}
	if _, err := w.w.Write(data); err != nil {
		return w.fail("write tensor %q: %v", name, err)
	}
	if pad := alignUp(t.Size, w.alignment) - t.Size; pad > 0 {
		if _, err := w.w.Write(make([]byte, pad)); err != nil {
			return w.fail("write tensor %q padding: %v", name, err)
		}
	}
	w.next++
	return nil
}

// Close checks that the header and every tensor were written. It does not
// close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		return w.fail("Close before WriteHeader")
	}
	if w.next < len(w.tensors) {
		return w.fail("Close with %d of %d tensors written; next is %q", w.next, len(w.tensors), w.tensors[w.next].Name)
	}
	return nil
}
