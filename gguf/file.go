package gguf

import (
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/metalgraph/metalgraph/quant"
)

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name   string
	Dims   []int64    // GGUF order: Dims[0] = ne0 = row length
	Type   quant.Type // element type
	Offset int64      // relative to the data section start
	Size   int64      // bytes: quant.RowBytes(Type, Dims[0]) * Rows()
}

// Elements returns the number of elements.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Rows returns the number of rows: the product of Dims[1:].
func (t TensorInfo) Rows() int64 {
	n := int64(1)
	for _, d := range t.Dims[min(1, len(t.Dims)):] {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Its tensor data stays in the mapping (or
// the bytes given to Parse) and is never copied; metadata is copied out,
// so it remains valid after Close.
type File struct {
	Version    uint32
	KVs        []KV
	Tensors    []TensorInfo
	Alignment  int64 // data alignment in bytes
	DataOffset int64 // file offset of the data section (past the end in a file with no tensors)

	data  []byte
	path  string
	unmap func([]byte) error
	// released marks the 4 KiB units given up with Release, for Prefault.
	relMu    sync.Mutex
	released []uint64
	keys     map[string]int // key -> index in KVs
	names    map[string]int // tensor name -> index in Tensors
}

// Open maps the file at path read-only and parses it. Anything but a
// regular file is refused before it is opened: opening a named pipe blocks
// until a writer comes, and a directory or a device holds no model.
func Open(path string) (*File, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if !st.Mode().IsRegular() { // replaced since the Stat above
		return nil, notRegular(path, st.Mode())
	}
	if int64(int(st.Size())) != st.Size() {
		return nil, fmt.Errorf("gguf: %s: %d bytes do not fit in the address space", path, st.Size())
	}
	f := &File{path: path}
	if st.Size() > 0 {
		if f.data, f.unmap, err = mapFile(fd, int(st.Size())); err != nil {
			return nil, fmt.Errorf("gguf: map %s: %w", path, err)
		}
	}
	if err := f.parse(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return f, nil
}

// notRegular says what path is instead of a regular file.
func notRegular(path string, m fs.FileMode) error {
	var kind string
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	default:
		return fmt.Errorf("gguf: %s is not a regular file", path)
	}
	return fmt.Errorf("gguf: %s is %s, not a regular file", path, kind)
}

// Close releases the mapping. Tensor views taken from the File must not be
// used afterwards. Close is safe to call more than once.
func (f *File) Close() error {
	data, unmap := f.data, f.unmap
	f.data, f.unmap = nil, nil
	if unmap == nil || data == nil {
		return nil
	}
	if err := unmap(data); err != nil {
		return fmt.Errorf("gguf: unmap %s: %w", f.path, err)
	}
	return nil
}

// Size returns the file size in bytes.
func (f *File) Size() int64 { return int64(len(f.data)) }

// Path returns the path given to Open, or "" for Parse.
func (f *File) Path() string { return f.path }

// Bytes returns the whole file as mapped. It must not be modified.
func (f *File) Bytes() []byte { return f.data }

// Lookup returns the value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.keys[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// Has reports whether key is present.
func (f *File) Has(key string) bool {
	_, ok := f.keys[key]
	return ok
}

// get looks key up and converts it with as, wrapping errors with the key.
func get[T any](f *File, key string, as func(Value) (T, error)) (T, error) {
	v, ok := f.Lookup(key)
	if !ok {
		var zero T
		return zero, fmt.Errorf("gguf: key %s: missing", key)
	}
	x, err := as(v)
	if err != nil {
		return x, fmt.Errorf("gguf: key %s: %w", key, err)
	}
	return x, nil
}

// String returns a string value.
func (f *File) String(key string) (string, error) { return get(f, key, Value.AsString) }

// Uint returns an unsigned or non-negative signed integer value.
func (f *File) Uint(key string) (uint64, error) { return get(f, key, Value.AsUint) }

// Int returns an integer value of any integer type.
func (f *File) Int(key string) (int64, error) { return get(f, key, Value.AsInt) }

// Float returns a float32 or float64 value, or an integer converted.
func (f *File) Float(key string) (float64, error) { return get(f, key, Value.AsFloat) }

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) { return get(f, key, Value.AsBool) }

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, error) { return get(f, key, Value.AsStrings) }

// Float32s returns a copy of an array of float32.
func (f *File) Float32s(key string) ([]float32, error) { return get(f, key, Value.AsFloat32s) }

// Int32s returns a copy of an array of int32 (token types, for example).
func (f *File) Int32s(key string) ([]int32, error) { return get(f, key, Value.AsInt32s) }

// Architecture returns general.architecture, or "" when absent or not a string.
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

// Tensor returns the named tensor's info.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.names[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns a view of t's bytes inside the mapping: exactly
// t.Size bytes, not copied, with capacity limited so appends cannot spill
// into the next tensor. It returns nil when t does not lie inside the file
// (a TensorInfo not from this File) or after Close.
func (f *File) TensorData(t *TensorInfo) []byte {
	if t == nil || t.Offset < 0 || t.Size < 0 {
		return nil
	}
	avail := int64(len(f.data)) - f.DataOffset
	if t.Offset > avail || t.Size > avail-t.Offset {
		return nil
	}
	start := f.DataOffset + t.Offset
	return f.data[start : start+t.Size : start+t.Size]
}
