package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// raw builds GGUF bytes field by field, valid or not.
type raw struct{ bytes.Buffer }

func (r *raw) u32(x uint32) *raw { r.Write(binary.LittleEndian.AppendUint32(nil, x)); return r }
func (r *raw) u64(x uint64) *raw { r.Write(binary.LittleEndian.AppendUint64(nil, x)); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }

// kv appends a key with a uint32 value.
func (r *raw) kv(key string, x uint32) *raw { return r.str(key).u32(uint32(Uint32)).u32(x) }

// tensor appends a tensor info.
func (r *raw) tensor(name string, typ quant.Type, off uint64, dims ...uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(off)
}

// data pads to 32 and appends n zero bytes of tensor data.
func (r *raw) data(n int) []byte {
	r.Write(make([]byte, (32-r.Len()%32)%32+n))
	return r.Bytes()
}

func header(version uint32, tensors, kvs uint64) *raw {
	r := &raw{}
	r.WriteString("GGUF")
	return r.u32(version).u64(tensors).u64(kvs)
}

func TestBrokenInputs(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "gguf: truncated at byte 0 reading the magic: the file is empty"},
		{"short magic", []byte("GG"), "gguf: truncated at byte 0 reading the magic: need 4 bytes, 2 left"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), `gguf: bad magic "GGML" (want "GGUF"): not a GGUF file`},
		{"no version", []byte("GGUF\x03"), "gguf: truncated at byte 4 reading the version"},
		{"v1", header(1, 0, 0).Bytes(), "gguf: version 1 is not supported"},
		{"v4", header(4, 0, 0).Bytes(), "gguf: unsupported version 4 (want 2 or 3)"},
		{"big-endian", header(3<<24, 0, 0).Bytes(), "gguf: big-endian GGUF (version 3 byte-swapped) is not supported"},
		{"no counts", []byte("GGUF\x03\x00\x00\x00\x01\x00"), "gguf: truncated at byte 8 reading the tensor count: need 8 bytes, 2 left"},
		{"huge tensor count", header(3, 1<<62, 0).Bytes(), "gguf: tensor count 4611686018427387904 is impossible"},
		{"max tensor count", header(3, math.MaxUint64, 0).Bytes(), "gguf: tensor count 18446744073709551615 is impossible"},
		{"huge kv count", header(3, 0, 1<<40).Bytes(), "gguf: metadata count 1099511627776 is impossible"},
		{"counts together", append(header(3, 1, 1).Bytes(), make([]byte, 40)...), "gguf: 1 metadata entries and 1 tensors cannot fit in the 40 bytes after byte 24 (truncated or corrupt)"},
		{"huge key length", header(3, 0, 1).u64(1 << 62).u32(0).u32(0).Bytes(),
			"gguf: truncated at byte 32 reading kv 0 key: need 4611686018427387904 bytes, 8 left"},
		{"truncated key", header(3, 0, 1).str("general.name").Bytes()[:40],
			"gguf: truncated at byte 32 reading kv 0 key: need 12 bytes, 8 left"},
		{"huge string value", header(3, 0, 1).str("k").u32(uint32(String)).u64(math.MaxUint64).Bytes(),
			`gguf: truncated at byte 45 reading kv 0 "k" string: need 18446744073709551615 bytes, 0 left`},
		{"huge array", header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Uint32)).u64(1 << 61).u32(0).Bytes(),
			`gguf: kv 0 "k" array of 2305843009213693952 uint32 cannot fit in the 4 bytes left (truncated at byte 49)`},
		{"huge string array", header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(String)).u64(3).u64(0).u64(0).Bytes(),
			`gguf: kv 0 "k" array of 3 string cannot fit in the 16 bytes left`},
		{"nested array", header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Array)).u64(1).u32(0).Bytes(),
			`gguf: kv 0 "k" nested arrays are not supported`},
		{"unknown value type", header(3, 0, 1).str("k").u32(13).u32(0).Bytes(), `gguf: kv 0 "k" unknown value type id 13`},
		{"unknown element type", header(3, 0, 1).str("k").u32(uint32(Array)).u32(77).u64(0).Bytes(),
			`gguf: kv 0 "k" unknown array element type id 77`},
		{"bad bool", header(3, 0, 1).str("k").u32(uint32(Bool)).u32(2).Bytes(), `gguf: kv 0 "k" bool byte is 2, want 0 or 1`},
		{"bad bool element", header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Bool)).u64(2).u32(0x0301).Bytes(),
			`gguf: kv 0 "k" bool element 1 is 3, want 0 or 1`},
		{"truncated scalar", header(3, 0, 1).str("k").u32(uint32(Uint64)).u32(0).Bytes(),
			`gguf: truncated at byte 37 reading kv 0 "k" uint64: need 8 bytes, 4 left`},
		{"empty key", header(3, 0, 1).kv("", 1).Bytes(), "gguf: kv 0 has an empty key"},
		{"empty tensor name", header(3, 1, 0).tensor("", quant.F32, 0, 4).data(32), "gguf: tensor 0 has an empty name"},
		{"duplicate key", header(3, 0, 2).kv("a", 1).kv("a", 2).Bytes(), `gguf: duplicate key "a" (kv 1)`},
		{"alignment not power of two", header(3, 0, 1).kv(KeyAlignment, 48).Bytes(),
			"gguf: key general.alignment: alignment 48 is not a power of two"},
		{"alignment zero", header(3, 0, 1).kv(KeyAlignment, 0).Bytes(), "gguf: key general.alignment: alignment 0"},
		{"alignment type", header(3, 0, 1).str(KeyAlignment).u32(uint32(String)).str("32").Bytes(),
			"gguf: key general.alignment: is string, want an integer"},
		{"unknown tensor type", header(3, 1, 0).tensor("blk.0.attn_q.weight", 99, 0, 32, 2).data(64),
			`gguf: tensor "blk.0.attn_q.weight": unknown type id 99`},
		{"zero dims", header(3, 1, 0).tensor("t", quant.F32, 0).data(64), `gguf: tensor "t": 0 dimensions (want 1 to 4)`},
		{"five dims", header(3, 1, 0).tensor("t", quant.F32, 0, 1, 1, 1, 1, 1).data(64), `gguf: tensor "t": 5 dimensions (want 1 to 4)`},
		{"huge dims count", header(3, 1, 0).str("t").u32(math.MaxUint32).data(64), `gguf: tensor "t": 4294967295 dimensions`},
		{"zero dim", header(3, 1, 0).tensor("t", quant.F32, 0, 4, 0).data(64), `gguf: tensor "t": dimension 1 is 0`},
		{"negative dim", header(3, 1, 0).tensor("t", quant.F32, 0, 1<<63).data(64), `gguf: tensor "t": dimension 0 is 9223372036854775808`},
		{"overflowing dims", header(3, 1, 0).tensor("t", quant.F32, 0, 1<<32, 1<<32, 1<<32).data(64),
			`gguf: tensor "t": dimensions [4294967296 4294967296 4294967296] overflow the element count`},
		{"overflowing bytes", header(3, 1, 0).tensor("t", quant.F32, 0, 1<<31, 1<<31).data(64),
			`gguf: tensor "t": dimensions [2147483648 2147483648] overflow the byte size`},
		{"block size", header(3, 1, 0).tensor("t", quant.Q4_0, 0, 172, 2).data(64),
			`gguf: tensor "t": Q4_0 row length 172 is not a multiple of the block size 32`},
		{"out of file", header(3, 1, 0).tensor("t", quant.F32, 0, 16, 2).data(64),
			`gguf: tensor "t": data [0, +128) lies outside the file (truncated: the data section has 64 bytes)`},
		{"offset past end", header(3, 1, 0).tensor("t", quant.F32, 1<<40, 1).data(64), `gguf: tensor "t": data [1099511627776, +4) lies outside the file`},
		{"offset overflow", header(3, 1, 0).tensor("t", quant.F32, math.MaxInt64-31, 8).data(64), `lies outside the file`},
		{"misaligned", header(3, 1, 0).tensor("t", quant.F32, 4, 4).data(64), `gguf: tensor "t": offset 4 is not a multiple of the alignment 32`},
		{"misaligned 64", header(3, 1, 1).kv(KeyAlignment, 64).tensor("t", quant.F32, 32, 4).data(128), `offset 32 is not a multiple of the alignment 64`},
		{"duplicate tensor", header(3, 2, 0).tensor("t", quant.F32, 0, 4).tensor("t", quant.F32, 32, 4).data(64),
			`gguf: duplicate tensor name "t" (tensor 1)`},
		{"overlap", header(3, 2, 0).tensor("a", quant.F32, 0, 16).tensor("b", quant.F32, 32, 4).data(128),
			`gguf: tensors "a" and "b" overlap`},
		{"no data section", header(3, 1, 0).tensor("t", quant.F32, 0, 4).Bytes(), "gguf: truncated at byte 57: the data section starts at byte 64"},
		{"truncated tensor info", header(3, 1, 0).tensor("t", quant.F32, 0, 4, 4).Bytes()[:58],
			`gguf: truncated at byte 57 reading tensor 0 "t" offset: need 8 bytes, 1 left`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.data)
			require.Error(t, err)
			assert.Nil(t, f)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "gguf: "), err.Error())
		})
	}
}

func TestValidHandMadeFile(t *testing.T) {
	// The builder above also makes valid files, so the failures are caused
	// by the one broken field in each case.
	f, err := Parse(header(2, 2, 1).kv("k", 7).tensor("a", quant.F32, 0, 8).tensor("b", quant.Q8_0, 32, 32).data(96))
	require.NoError(t, err)
	assert.Equal(t, uint32(2), f.Version)
	assert.Equal(t, int64(34), f.Tensors[1].Size)
	assert.Len(t, f.TensorData(&f.Tensors[1]), 34)
}

// TestEveryPrefixFails parses every prefix of a real header and a sample
// of prefixes that cut the tensor data: each must fail, saying truncated.
func TestEveryPrefixFails(t *testing.T) {
	whole, err := os.ReadFile(shareddata.Path(t, "models", "derived", "stories260K-ffn192-Q4_0.gguf"))
	require.NoError(t, err)
	f, err := Parse(whole)
	require.NoError(t, err)
	check := func(n int) {
		_, err := Parse(whole[:n])
		if assert.Error(t, err, "prefix %d", n) {
			assert.Contains(t, err.Error(), "truncated", "prefix %d", n)
		}
	}
	for n := 0; n < int(f.DataOffset); n++ {
		check(n)
	}
	for n := int(f.DataOffset); n < len(whole); n += 997 {
		check(n)
	}
	check(len(whole) - 1)
}

// TestHostileCountsAllocateLittle checks that a header claiming huge
// counts is rejected before anything is sized by those counts.
func TestHostileCountsAllocateLittle(t *testing.T) {
	inputs := [][]byte{
		header(3, 1<<40, 1<<40).data(4096),
		header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Uint64)).u64(1 << 40).data(4096),
		header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(String)).u64(1 << 40).data(4096),
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, in := range inputs {
		_, err := Parse(in)
		require.Error(t, err)
	}
	runtime.ReadMemStats(&after)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}
