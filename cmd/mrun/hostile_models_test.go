//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/quant"
)

// rawModel is a model file's bytes and their parse, for rows that break one
// field of the file itself (what testmodel.Rewrite, going through the
// writer, cannot make).
type rawModel struct {
	t    *testing.T
	dir  string
	base string
	data []byte
	file *gguf.File
}

func readRawModel(t *testing.T, dir string, elems ...string) *rawModel {
	t.Helper()
	data, err := os.ReadFile(shareddata.Path(t, elems...))
	require.NoError(t, err)
	f, err := gguf.Parse(data)
	require.NoError(t, err)
	return &rawModel{t: t, dir: dir, base: elems[len(elems)-1], data: data, file: f}
}

// write saves the bytes as edit leaves them (on a copy) and returns the path.
func (r *rawModel) write(name string, edit func(b []byte) []byte) string {
	r.t.Helper()
	path := filepath.Join(r.dir, name+"-"+r.base)
	require.NoError(r.t, os.WriteFile(path, edit(slices.Clone(r.data)), 0o644))
	return path
}

// cut is the file's first n bytes.
func (r *rawModel) cut(name string, n int64) string {
	return r.write(name, func(b []byte) []byte { return b[:n] })
}

// put32 and put64 overwrite one little-endian field at byte off.
func (r *rawModel) put32(name string, off int, v uint32) string {
	return r.write(name, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b })
}

func (r *rawModel) put64(name string, off int, v uint64) string {
	return r.write(name, func(b []byte) []byte { binary.LittleEndian.PutUint64(b[off:], v); return b })
}

// infoFields are the file offsets of one tensor info's fields.
type infoFields struct{ dims, typ, offset int }

// info finds the tensor info of name: its length-prefixed name, then
// uint32 dimension count, uint64 dims, uint32 type, uint64 offset.
func (r *rawModel) info(name string) infoFields {
	r.t.Helper()
	ti, ok := r.file.Tensor(name)
	require.True(r.t, ok, name)
	key := append(binary.LittleEndian.AppendUint64(nil, uint64(len(name))), name...)
	header := r.data[:r.file.DataOffset]
	at := bytes.Index(header, key)
	require.True(r.t, at > 0 && at == bytes.LastIndex(header, key), "one tensor info %q", name)
	dims := at + len(key) + 4
	typ := dims + 8*len(ti.Dims)
	return infoFields{dims: dims, typ: typ, offset: typ + 4}
}

// corruptFileRows break the file format: truncations, the header, counts
// and tensor infos. Each row names what the parser reads where it stops.
func corruptFileRows(t *testing.T, dir string) []hostileRow {
	stories := readRawModel(t, dir, "models", "stories260K.gguf")
	synth := readRawModel(t, dir, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	out := stories.info("output.weight")
	embd := synth.info("token_embd.weight")
	lastData := synth.file.DataOffset + synth.file.Tensors[len(synth.file.Tensors)-1].Offset
	run := func(path string) []string { return []string{"run", "-m", path, "-p", "Once", "-n", "2"} }
	return []hostileRow{
		{name: "truncated in the header", args: run(stories.cut("cut-header", 12)),
			rc: 1, want: []string{"truncated", "tensor count"}},
		{name: "truncated in the metadata", args: []string{"inspect", stories.cut("cut-kv", 100)},
			rc: 1, want: []string{"truncated", "kv"}},
		{name: "truncated in the tensor infos", args: []string{"tokenize", "-m", stories.cut("cut-infos", int64(out.typ)), "hi"},
			rc: 1, want: []string{"truncated", "output.weight"}},
		{name: "truncated in the tensor data", args: run(synth.cut("cut-data", lastData+1000)),
			rc: 1, want: []string{"blk.1.ffn_up.weight", "outside the file"}},
		{name: "truncated to the header", args: []string{"inspect", synth.cut("cut-at-data", synth.file.DataOffset)},
			rc: 1, want: []string{"output.weight", "outside the file"}},
		{name: "bad magic", args: run(stories.write("magic", func(b []byte) []byte { copy(b, "GGML"); return b })),
			rc: 1, want: []string{"bad magic", "not a GGUF file"}},
		{name: "bad version", args: []string{"inspect", stories.put32("version", 4, 7)},
			rc: 1, want: []string{"version 7"}},
		{name: "huge tensor count", args: run(stories.put64("tensors", 8, 1<<62)),
			rc: 1, want: []string{"tensor count 4611686018427387904"}},
		{name: "huge kv count", args: []string{"tokenize", "-m", stories.put64("kvs", 16, math.MaxUint64), "hi"},
			rc: 1, want: []string{"metadata count 18446744073709551615"}},
		{name: "overflowing dims", args: run(synth.write("dims", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[embd.dims:], 1<<40)
			binary.LittleEndian.PutUint64(b[embd.dims+8:], 1<<40)
			return b
		})), rc: 1, want: []string{"token_embd.weight", "overflow"}},
		{name: "tensor offset out of bounds", args: run(synth.put64("offset", embd.offset, 1<<40)),
			rc: 1, want: []string{"token_embd.weight", "outside the file"}},
		{name: "misaligned tensor offset", args: run(stories.put64("misaligned", out.offset, uint64(stories.file.Tensors[2].Offset+4))),
			rc: 1, want: []string{"output.weight", "alignment"}},
		{name: "unknown tensor type id", args: run(synth.put32("type", embd.typ, 99)),
			rc: 1, want: []string{"token_embd.weight", "unknown type id 99"}},
	}
}

// badModelRows are well-formed files whose metadata or tensors a llama
// model cannot have; models/mistral names the key or tensor.
func badModelRows(t *testing.T) []hostileRow {
	stories := shareddata.Path(t, "models", "stories260K.gguf")
	synth := shareddata.Path(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	rewrite := func(src string, edit func(*testmodel.Model)) string { return testmodel.Rewrite(t, src, edit) }
	setKV := func(src, key string, v gguf.Value) string {
		return rewrite(src, func(m *testmodel.Model) { m.SetKV(key, v) })
	}
	addTensor := func(name string, dims ...int64) string {
		return rewrite(stories, func(m *testmodel.Model) {
			m.Tensors = append(m.Tensors, testmodel.Tensor{Name: name, Type: quant.F32, Dims: dims})
		})
	}
	run := func(path string, extra ...string) []string {
		return append([]string{"run", "-m", path, "-p", "Once upon a time", "-n", "4", "--temp", "0", "--threads", "1"}, extra...)
	}
	const eps, base = "llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"
	poisoned := rewrite(stories, func(m *testmodel.Model) { m.SetF32(t, "output.weight", 100*64, nan) })
	tiny := shareddata.Path(t, "models", "llama-2-tiny-random.gguf")
	tinyTokens := modelStrings(t, tiny, "tokenizer.ggml.tokens")
	return []hostileRow{
		{name: "key of the wrong type", args: run(setKV(stories, "llama.embedding_length", gguf.StringValue("64"))),
			rc: 1, want: []string{"llama.embedding_length", "string"}},
		{name: "zero heads", args: run(setKV(synth, "llama.attention.head_count", gguf.Uint32Value(0))),
			rc: 1, want: []string{"llama.attention.head_count"}},
		{name: "kv heads that do not divide the heads", args: run(setKV(synth, "llama.attention.head_count_kv", gguf.Uint32Value(3))),
			rc: 1, want: []string{"llama.attention.head_count_kv"}},
		{name: "rope dimension count above the head dim", args: run(setKV(stories, "llama.rope.dimension_count", gguf.Uint32Value(16))),
			rc: 1, want: []string{"llama.rope.dimension_count"}},
		{name: "NaN rms epsilon", args: run(setKV(stories, eps, gguf.Float32Value(nan))),
			rc: 1, want: []string{eps, "NaN"}},
		{name: "infinite rms epsilon", args: []string{"inspect", setKV(stories, eps, gguf.Float32Value(inf))},
			rc: 1, want: []string{eps, "+Inf"}},
		{name: "negative rms epsilon", args: run(setKV(stories, eps, gguf.Float32Value(-1e-5))),
			rc: 1, want: []string{eps, "-1e-05"}},
		{name: "NaN rope base", args: run(setKV(synth, base, gguf.Float32Value(nan))),
			rc: 1, want: []string{base, "NaN"}},
		{name: "NaN rope scaling factor", args: run(rewrite(stories, func(m *testmodel.Model) {
			m.SetKV("llama.rope.scaling.type", gguf.StringValue("linear"))
			m.SetKV("llama.rope.scaling.factor", gguf.Float32Value(nan))
		})), rc: 1, want: []string{"llama.rope.scaling.factor", "NaN"}},
		{name: "yarn rope scaling", args: run(setKV(stories, "llama.rope.scaling.type", gguf.StringValue("yarn"))),
			rc: 1, want: []string{"llama.rope.scaling.type", "yarn", "not supported"}},
		{name: "llama3 rope scaling", args: []string{"inspect", setKV(stories, "llama.rope.scaling.type", gguf.StringValue("llama3"))},
			rc: 1, want: []string{"llama.rope.scaling.type", "llama3", "not supported"}},
		{name: "rope_freqs tensor", args: run(addTensor("rope_freqs.weight", 4)),
			rc: 1, want: []string{"rope_freqs.weight"}},
		{name: "unknown extra tensor", args: run(addTensor("blk.0.attn_q.bias", 64)),
			rc: 1, want: []string{"unknown tensor blk.0.attn_q.bias"}},
		{name: "unknown tensor with an escape in its name", args: run(addTensor("blk.0.\x1b[2Jevil.weight", 64)),
			rc: 1, want: []string{"unknown tensor", "evil.weight"}},
		{name: "key_length 2^62+8", args: run(setKV(stories, "llama.attention.key_length", gguf.Uint64Value(1<<62+8))),
			rc: 1, want: []string{"llama.attention.key_length", "4611686018427387912"}},
		{name: "block_count 2^24 on 5 blocks", args: run(setKV(stories, "llama.block_count", gguf.Uint32Value(1<<24))),
			rc: 1, want: []string{"llama.block_count = 16777216", "5 blocks"}},
		{name: "512 tokens for 32000 embedding rows", args: run(setKV(tiny, "tokenizer.ggml.tokens", gguf.StringsValue(tinyTokens[:512]))), rc: 1, want: []string{"tokenizer.ggml.tokens", "512", "token_embd.weight", "32000"}},
		{name: "NaN weight with --check-tensors", args: run(poisoned, "--check-tensors"),
			rc: 1, want: []string{"output.weight", "element 6400 is NaN"}},
		{name: "NaN weight without --check-tensors", args: run(poisoned),
			rc: 1, want: []string{"not finite", "--check-tensors"}},
	}
}

// modelStrings reads a string array from a model's metadata.
func modelStrings(t *testing.T, path, key string) []string {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	s, err := f.Strings(key)
	require.NoError(t, err)
	return s
}

// deepModel copies llama-2-tiny-random's one block (8 wide) into 1024 and
// declares the longest context a model may (2^24): its F32 KV cache needs
// 64 KiB a position, 1 TiB in all, beyond any machine that runs the test,
// from a file of a few MiB.
func deepModel(t *testing.T) string {
	const blocks = 1024
	return testmodel.Rewrite(t, shareddata.Path(t, "models", "llama-2-tiny-random.gguf"), func(m *testmodel.Model) {
		m.SetKV("llama.block_count", gguf.Uint32Value(blocks))
		m.SetKV("llama.context_length", gguf.Uint32Value(1<<24))
		var block0 []testmodel.Tensor
		for _, tn := range m.Tensors {
			if strings.HasPrefix(tn.Name, "blk.0.") {
				block0 = append(block0, tn)
			}
		}
		for b := 1; b < blocks; b++ {
			for _, tn := range block0 {
				tn.Name = fmt.Sprintf("blk.%d.%s", b, strings.TrimPrefix(tn.Name, "blk.0."))
				m.Tensors = append(m.Tensors, tn)
			}
		}
	})
}
