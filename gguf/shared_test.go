package gguf

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// sharedModels lists every .gguf file under the shared models folder.
func sharedModels(t *testing.T) []string {
	t.Helper()
	root := shareddata.Path(t, "models")
	var paths []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".gguf" {
			paths = append(paths, p)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	return paths
}

func openShared(t *testing.T, elems ...string) *File {
	t.Helper()
	f, err := Open(shareddata.Path(t, append([]string{"models"}, elems...)...))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.Close()) })
	return f
}

func countTypes(f *File) map[quant.Type]int {
	n := map[quant.Type]int{}
	for _, t := range f.Tensors {
		n[t.Type]++
	}
	return n
}

// sameArray reports whether view starts inside whole's backing array.
func sameArray(whole, view []byte, off int64) bool {
	return unsafe.SliceData(view) == unsafe.SliceData(whole[off:])
}

func TestOpenEverySharedModel(t *testing.T) {
	for _, p := range sharedModels(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := Open(p)
			require.NoError(t, err)
			defer f.Close()
			st, err := os.Stat(p)
			require.NoError(t, err)
			assert.Equal(t, st.Size(), f.Size())
			assert.Equal(t, p, f.Path())
			assert.Equal(t, uint32(3), f.Version)
			assert.Equal(t, int64(32), f.Alignment)
			assert.NotEmpty(t, f.Architecture())
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				data := f.TensorData(ti)
				require.Len(t, data, int(ti.Size), ti.Name)
				assert.True(t, sameArray(f.Bytes(), data, f.DataOffset+ti.Offset), "%s is not a view", ti.Name)
				got, ok := f.Tensor(ti.Name)
				require.True(t, ok)
				assert.Same(t, ti, got)
			}
		})
	}
}

func TestStories260K(t *testing.T) {
	f := openShared(t, "stories260K.gguf")
	assert.Equal(t, "llama", f.Architecture())
	assert.Len(t, f.Tensors, 48)
	assert.Equal(t, map[quant.Type]int{quant.F32: 48}, countTypes(f))
	assert.False(t, f.Has("general.file_type"))
	assert.False(t, f.Has("llama.rope.freq_base"))

	for key, want := range map[string]uint64{
		"llama.embedding_length": 64, "llama.block_count": 5, "llama.feed_forward_length": 172,
		"llama.attention.head_count": 8, "llama.attention.head_count_kv": 4,
		"llama.rope.dimension_count": 8, "llama.context_length": 2048,
		"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
		"tokenizer.ggml.padding_token_id": 0xFFFFFFFF,
	} {
		got, err := f.Uint(key)
		require.NoError(t, err, key)
		assert.Equal(t, want, got, key)
	}
	eps, err := f.Float("llama.attention.layer_norm_rms_epsilon")
	require.NoError(t, err)
	assert.InDelta(t, 1e-5, eps, 1e-12)
	model, err := f.String("tokenizer.ggml.model")
	require.NoError(t, err)
	assert.Equal(t, "llama", model)

	tokens, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	require.Len(t, tokens, 512)
	assert.Equal(t, []string{"<unk>", "<s>", "</s>", "<0x00>"}, tokens[:4])
	assert.Equal(t, "<0xFF>", tokens[258])
	scores, err := f.Float32s("tokenizer.ggml.scores")
	require.NoError(t, err)
	require.Len(t, scores, 512)
	assert.Equal(t, float32(-252), scores[511])
	types, err := f.Int32s("tokenizer.ggml.token_type")
	require.NoError(t, err)
	require.Len(t, types, 512)
	assert.Equal(t, []int32{2, 3, 3, 6}, types[:4])

	v, ok := f.Lookup("tokenizer.ggml.tokens")
	require.True(t, ok)
	assert.Equal(t, Array, v.Type())
	assert.Equal(t, String, v.ElemType())
	assert.Equal(t, 512, v.Len())
	assert.Equal(t, `[512×string] ["<unk>", "<s>", "</s>", "<0x00>", "<0x01>", "<0x02>", …]`, v.String())

	ffn, ok := f.Tensor("blk.4.ffn_down.weight")
	require.True(t, ok)
	assert.Equal(t, []int64{172, 64}, ffn.Dims)
	assert.Equal(t, int64(64), ffn.Rows())
	assert.Equal(t, int64(172*64), ffn.Elements())
	assert.Equal(t, int64(172*64*4), ffn.Size)
	emb, ok := f.Tensor("token_embd.weight")
	require.True(t, ok)
	assert.Equal(t, []int64{64, 512}, emb.Dims)
}

func TestSynthQ4_0Mix(t *testing.T) {
	f := openShared(t, "derived", "synth-d256-gqa-Q4_0.gguf")
	assert.Len(t, f.Tensors, 21)
	assert.Equal(t, map[quant.Type]int{quant.Q4_0: 15, quant.Q6_K: 1, quant.F32: 5}, countTypes(f))
	out, ok := f.Tensor("output.weight")
	require.True(t, ok)
	assert.Equal(t, quant.Q6_K, out.Type)
	assert.Equal(t, []int64{256, 512}, out.Dims)
	assert.Equal(t, int64(512*210), out.Size)
	q, ok := f.Tensor("blk.0.attn_q.weight")
	require.True(t, ok)
	assert.Equal(t, quant.Q4_0, q.Type)
	assert.Equal(t, int64(256*8*18), q.Size)
	base, err := f.Float("llama.rope.freq_base")
	require.NoError(t, err)
	assert.Equal(t, 10000.0, base)
	name, err := f.String("general.name")
	require.NoError(t, err)
	assert.Equal(t, "synth-llama-d256-gqa-random", name)
}

func TestLlama2TinyRandom(t *testing.T) {
	f := openShared(t, "llama-2-tiny-random.gguf")
	assert.Equal(t, map[quant.Type]int{quant.F16: 9, quant.F32: 3}, countTypes(f))
	emb, ok := f.Tensor("token_embd.weight")
	require.True(t, ok)
	assert.Equal(t, quant.F16, emb.Type)
	assert.Equal(t, []int64{8, 32000}, emb.Dims)
	assert.Equal(t, int64(8*32000*2), emb.Size)
	ft, err := f.Uint("general.file_type")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), ft)
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	assert.Len(t, tokens, 32000)
}

func TestVocabOnlyFiles(t *testing.T) {
	f := openShared(t, "vocab", "ggml-vocab-phi-3.gguf")
	assert.Equal(t, "phi3", f.Architecture())
	assert.Empty(t, f.Tensors)
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	require.NoError(t, err)
	assert.Len(t, tokens, 32064)
	eos, err := f.Uint("tokenizer.ggml.eos_token_id")
	require.NoError(t, err)
	assert.Equal(t, uint64(32000), eos)
}

func TestGetterErrors(t *testing.T) {
	f := openShared(t, "stories260K.gguf")
	_, err := f.Uint("llama.rope.freq_base")
	assert.EqualError(t, err, "gguf: key llama.rope.freq_base: missing")
	_, err = f.Uint("general.name")
	assert.EqualError(t, err, "gguf: key general.name: is string, want an integer")
	_, err = f.String("llama.block_count")
	assert.EqualError(t, err, "gguf: key llama.block_count: is uint32, want a string")
	_, err = f.Float32s("tokenizer.ggml.tokens")
	assert.EqualError(t, err, "gguf: key tokenizer.ggml.tokens: is array of string, want array of float32")
	_, err = f.Bool("llama.block_count")
	assert.EqualError(t, err, "gguf: key llama.block_count: is uint32, want a bool")
	_, err = f.Float("tokenizer.ggml.model")
	assert.EqualError(t, err, "gguf: key tokenizer.ggml.model: is string, want a number")
	_, ok := f.Tensor("no.such.tensor")
	assert.False(t, ok)
}

func TestCloseIsIdempotent(t *testing.T) {
	f, err := Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	assert.Nil(t, f.Bytes())
	assert.Nil(t, f.TensorData(&f.Tensors[0]))
	n, err := f.Uint("llama.block_count") // metadata was copied out of the mapping
	require.NoError(t, err)
	assert.Equal(t, uint64(5), n)
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "absent.gguf"))
	assert.ErrorContains(t, err, "gguf: open")
	dir := t.TempDir()
	_, err = Open(dir)
	assert.EqualError(t, err, "gguf: "+dir+" is a directory, not a regular file")
	empty := filepath.Join(t.TempDir(), "empty.gguf")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = Open(empty)
	assert.ErrorContains(t, err, "gguf: truncated at byte 0")
	assert.ErrorContains(t, err, empty)
}
