package gguf

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/metalgraph/metalgraph/quant"
)

// Minimum encoded sizes, used to bound counts by the bytes that remain
// before anything is allocated for them.
const (
	minKVBytes     = 8 + 4 + 1         // key length, value type, smallest value
	minTensorBytes = 8 + 4 + 8 + 4 + 8 // name length, n_dims, one dim, type, offset
	maxDims        = 4
	// DefaultAlignment is the data alignment when general.alignment is absent.
	DefaultAlignment = 32
	// maxAlignment keeps padding arithmetic far from overflow.
	maxAlignment = 1 << 30
)

// KeyAlignment is the metadata key that overrides DefaultAlignment.
const KeyAlignment = "general.alignment"

// cursor reads little-endian fields and reports truncation with the byte
// offset and what was being read.
type cursor struct {
	b   []byte
	off int
	at  string // what is being read, for errors: `kv 3 "general.name"`
}

func (c *cursor) left() int { return len(c.b) - c.off }

func (c *cursor) need(n uint64, what string) error {
	if n > uint64(c.left()) {
		return fmt.Errorf("gguf: truncated at byte %d reading %s%s: need %d bytes, %d left",
			c.off, c.at, what, n, c.left())
	}
	return nil
}

func (c *cursor) u32(what string) (uint32, error) {
	if err := c.need(4, what); err != nil {
		return 0, err
	}
	x := binary.LittleEndian.Uint32(c.b[c.off:])
	c.off += 4
	return x, nil
}

func (c *cursor) u64(what string) (uint64, error) {
	if err := c.need(8, what); err != nil {
		return 0, err
	}
	x := binary.LittleEndian.Uint64(c.b[c.off:])
	c.off += 8
	return x, nil
}

// str reads a length-prefixed string, copying it out of the input so that
// it stays valid after the mapping is closed.
func (c *cursor) str(what string) (string, error) {
	n, err := c.u64(what + " length")
	if err != nil {
		return "", err
	}
	if err := c.need(n, what); err != nil {
		return "", err
	}
	s := string(c.b[c.off : c.off+int(n)])
	c.off += int(n)
	return s, nil
}

// Parse reads a GGUF v2 or v3 file held in data. The File's tensor views
// point into data; Close is a no-op.
func Parse(data []byte) (*File, error) {
	f := &File{data: data}
	if err := f.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) parse() error {
	c := &cursor{b: f.data}
	if len(f.data) == 0 {
		return fmt.Errorf("gguf: truncated at byte 0 reading the magic: the file is empty")
	}
	if err := c.need(4, "the magic"); err != nil {
		return err
	}
	if magic := string(f.data[:4]); magic != "GGUF" {
		return fmt.Errorf("gguf: bad magic %q (want \"GGUF\"): not a GGUF file", magic)
	}
	c.off = 4
	v, err := c.u32("the version")
	if err != nil {
		return err
	}
	switch {
	case v == 1:
		return fmt.Errorf("gguf: version 1 is not supported (only 2 and 3): re-convert the model with a current llama.cpp")
	case v == 2 || v == 3:
	case bits.ReverseBytes32(v) == 2 || bits.ReverseBytes32(v) == 3:
		return fmt.Errorf("gguf: big-endian GGUF (version %d byte-swapped) is not supported", bits.ReverseBytes32(v))
	default:
		return fmt.Errorf("gguf: unsupported version %d (want 2 or 3)", v)
	}
	f.Version = v
	nt, err := c.u64("the tensor count")
	if err != nil {
		return err
	}
	nkv, err := c.u64("the metadata count")
	if err != nil {
		return err
	}
	// Bound the counts by the bytes left before sizing anything by them.
	rest := uint64(c.left())
	if nkv > rest/minKVBytes {
		return fmt.Errorf("gguf: metadata count %d is impossible (truncated or corrupt): %d bytes remain after byte %d and each entry needs at least %d",
			nkv, rest, c.off, minKVBytes)
	}
	if nt > rest/minTensorBytes {
		return fmt.Errorf("gguf: tensor count %d is impossible (truncated or corrupt): %d bytes remain after byte %d and each tensor needs at least %d",
			nt, rest, c.off, minTensorBytes)
	}
	if nkv*minKVBytes+nt*minTensorBytes > rest {
		return fmt.Errorf("gguf: %d metadata entries and %d tensors cannot fit in the %d bytes after byte %d (truncated or corrupt)",
			nkv, nt, rest, c.off)
	}
	if err := f.parseKVs(c, int(nkv)); err != nil {
		return err
	}
	if err := f.setAlignment(); err != nil {
		return err
	}
	if err := f.parseTensorInfos(c, int(nt)); err != nil {
		return err
	}
	// c.off <= len(data) and alignment <= 1<<30, so this cannot overflow.
	f.DataOffset = alignUp(int64(c.off), f.Alignment)
	return f.checkTensorBounds()
}

func (f *File) parseKVs(c *cursor, n int) error {
	f.KVs = make([]KV, 0, n)
	f.keys = make(map[string]int, n)
	for i := range n {
		c.at = fmt.Sprintf("kv %d ", i)
		key, err := c.str("key")
		if err != nil {
			return err
		}
		if key == "" {
			return fmt.Errorf("gguf: kv %d has an empty key", i)
		}
		if _, dup := f.keys[key]; dup {
			return fmt.Errorf("gguf: duplicate key %q (kv %d)", key, i)
		}
		c.at = fmt.Sprintf("kv %d %q ", i, key)
		t, err := c.u32("value type")
		if err != nil {
			return err
		}
		val, err := readValue(c, ValueType(t))
		if err != nil {
			return err
		}
		f.keys[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{Key: key, Value: val})
	}
	c.at = ""
	return nil
}

func readValue(c *cursor, t ValueType) (Value, error) {
	if !t.Valid() {
		return Value{}, fmt.Errorf("gguf: %sunknown value type id %d", c.at, uint32(t))
	}
	switch t {
	case String:
		s, err := c.str("string")
		return StringValue(s), err
	case Array:
		return readArray(c)
	}
	n := t.size()
	if err := c.need(uint64(n), t.String()); err != nil {
		return Value{}, err
	}
	b := c.b[c.off : c.off+n]
	c.off += n
	var x uint64
	switch n {
	case 1:
		x = uint64(b[0])
	case 2:
		x = uint64(binary.LittleEndian.Uint16(b))
	case 4:
		x = uint64(binary.LittleEndian.Uint32(b))
	case 8:
		x = binary.LittleEndian.Uint64(b)
	}
	if t == Bool && x > 1 {
		return Value{}, fmt.Errorf("gguf: %sbool byte is %d, want 0 or 1", c.at, x)
	}
	return Value{typ: t, bits: x}, nil
}

func readArray(c *cursor) (Value, error) {
	et, err := c.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.Valid() {
		return Value{}, fmt.Errorf("gguf: %sunknown array element type id %d", c.at, et)
	}
	if elem == Array {
		return Value{}, fmt.Errorf("gguf: %snested arrays are not supported", c.at)
	}
	n, err := c.u64("array length")
	if err != nil {
		return Value{}, err
	}
	if size := uint64(elem.size()); n > uint64(c.left())/size {
		return Value{}, fmt.Errorf("gguf: %sarray of %d %s cannot fit in the %d bytes left (truncated at byte %d)",
			c.at, n, elem, c.left(), c.off)
	}
	cnt := int(n)
	switch elem {
	case String:
		a := make([]string, cnt)
		for i := range a {
			if a[i], err = c.str("string element"); err != nil {
				return Value{}, err
			}
		}
		return Value{typ: Array, elem: String, arr: a}, nil
	case Bool:
		a := make([]bool, cnt)
		for i, x := range c.b[c.off : c.off+cnt] {
			if x > 1 {
				return Value{}, fmt.Errorf("gguf: %sbool element %d is %d, want 0 or 1", c.at, i, x)
			}
			a[i] = x == 1
		}
		c.off += cnt
		return Value{typ: Array, elem: Bool, arr: a}, nil
	}
	b := c.b[c.off : c.off+cnt*elem.size()]
	c.off += len(b)
	var a any
	switch elem {
	case Uint8:
		a = slices.Clone(b)
	case Int8:
		a = decode(b, 1, func(p []byte) int8 { return int8(p[0]) })
	case Uint16:
		a = decode(b, 2, binary.LittleEndian.Uint16)
	case Int16:
		a = decode(b, 2, func(p []byte) int16 { return int16(binary.LittleEndian.Uint16(p)) })
	case Uint32:
		a = decode(b, 4, binary.LittleEndian.Uint32)
	case Int32:
		a = decode(b, 4, func(p []byte) int32 { return int32(binary.LittleEndian.Uint32(p)) })
	case Float32:
		a = decode(b, 4, func(p []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(p)) })
	case Uint64:
		a = decode(b, 8, binary.LittleEndian.Uint64)
	case Int64:
		a = decode(b, 8, func(p []byte) int64 { return int64(binary.LittleEndian.Uint64(p)) })
	case Float64:
		a = decode(b, 8, func(p []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(p)) })
	}
	return Value{typ: Array, elem: elem, arr: a}, nil
}

// decode converts len(b)/size fixed-size little-endian elements.
func decode[E any](b []byte, size int, get func([]byte) E) []E {
	out := make([]E, len(b)/size)
	for i := range out {
		out[i] = get(b[i*size:])
	}
	return out
}

func (f *File) setAlignment() error {
	f.Alignment = DefaultAlignment
	v, ok := f.Lookup(KeyAlignment)
	if !ok {
		return nil
	}
	a, err := alignmentOf(v)
	if err != nil {
		return err
	}
	f.Alignment = a
	return nil
}

// alignmentOf validates a general.alignment value.
func alignmentOf(v Value) (int64, error) {
	a, err := v.AsUint()
	if err != nil {
		return 0, fmt.Errorf("gguf: key %s: %v", KeyAlignment, err)
	}
	if a == 0 || a&(a-1) != 0 || a > maxAlignment {
		return 0, fmt.Errorf("gguf: key %s: alignment %d is not a power of two up to %d", KeyAlignment, a, maxAlignment)
	}
	return int64(a), nil
}

func (f *File) parseTensorInfos(c *cursor, n int) error {
	f.Tensors = make([]TensorInfo, 0, n)
	f.names = make(map[string]int, n)
	for i := range n {
		c.at = fmt.Sprintf("tensor %d ", i)
		name, err := c.str("name")
		if err != nil {
			return err
		}
		if name == "" {
			return fmt.Errorf("gguf: tensor %d has an empty name", i)
		}
		if _, dup := f.names[name]; dup {
			return fmt.Errorf("gguf: duplicate tensor name %q (tensor %d)", name, i)
		}
		c.at = fmt.Sprintf("tensor %d %q ", i, name)
		nd, err := c.u32("dimension count")
		if err != nil {
			return err
		}
		if nd == 0 || nd > maxDims {
			return fmt.Errorf("gguf: tensor %q: %d dimensions (want 1 to %d)", name, nd, maxDims)
		}
		dims := make([]int64, nd)
		for d := range dims {
			x, err := c.u64("dimension")
			if err != nil {
				return err
			}
			if x == 0 || x > math.MaxInt64 {
				return fmt.Errorf("gguf: tensor %q: dimension %d is %d (want 1 to 2^63-1)", name, d, x)
			}
			dims[d] = int64(x)
		}
		typ, err := c.u32("type")
		if err != nil {
			return err
		}
		off, err := c.u64("offset")
		if err != nil {
			return err
		}
		t, err := newTensorInfo(name, quant.Type(typ), dims)
		if err != nil {
			return err
		}
		if off > math.MaxInt64 || int64(off)%f.Alignment != 0 {
			return fmt.Errorf("gguf: tensor %q: offset %d is not a multiple of the alignment %d", name, off, f.Alignment)
		}
		t.Offset = int64(off)
		f.names[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	c.at = ""
	return nil
}

// newTensorInfo validates a tensor's type and shape and computes its size;
// the reader and the writer share it so they agree on what is valid.
func newTensorInfo(name string, typ quant.Type, dims []int64) (TensorInfo, error) {
	t := TensorInfo{Name: name, Type: typ, Dims: dims}
	if !typ.Known() {
		return t, fmt.Errorf("gguf: tensor %q: unknown type id %d", name, uint32(typ))
	}
	if len(dims) == 0 || len(dims) > maxDims {
		return t, fmt.Errorf("gguf: tensor %q: %d dimensions (want 1 to %d)", name, len(dims), maxDims)
	}
	elems := int64(1)
	for i, d := range dims {
		if d <= 0 {
			return t, fmt.Errorf("gguf: tensor %q: dimension %d is %d (want > 0)", name, i, d)
		}
		if elems > math.MaxInt64/d {
			return t, fmt.Errorf("gguf: tensor %q: dimensions %v overflow the element count", name, dims)
		}
		elems *= d
	}
	rowBytes, err := quant.RowBytes(typ, dims[0])
	if err != nil {
		return t, fmt.Errorf("gguf: tensor %q: %v", name, err)
	}
	rows := elems / dims[0]
	if rowBytes > 0 && rows > math.MaxInt64/rowBytes {
		return t, fmt.Errorf("gguf: tensor %q: dimensions %v overflow the byte size", name, dims)
	}
	t.Size = rowBytes * rows
	return t, nil
}

// checkTensorBounds checks that every tensor lies inside the file and that
// no two tensors share bytes.
func (f *File) checkTensorBounds() error {
	if len(f.Tensors) == 0 {
		return nil
	}
	avail := int64(len(f.data)) - f.DataOffset
	if avail < 0 {
		return fmt.Errorf("gguf: truncated at byte %d: the data section starts at byte %d", len(f.data), f.DataOffset)
	}
	for _, t := range f.Tensors {
		if t.Offset > avail || t.Size > avail-t.Offset {
			return fmt.Errorf("gguf: tensor %q: data [%d, +%d) lies outside the file (truncated: the data section has %d bytes)",
				t.Name, t.Offset, t.Size, avail)
		}
	}
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(f.Tensors[a].Offset, f.Tensors[b].Offset) })
	for i := 1; i < len(order); i++ {
		p, q := &f.Tensors[order[i-1]], &f.Tensors[order[i]]
		if p.Offset+p.Size > q.Offset {
			return fmt.Errorf("gguf: tensors %q and %q overlap", p.Name, q.Name)
		}
	}
	return nil
}

func alignUp(x, a int64) int64 { return (x + a - 1) / a * a }
