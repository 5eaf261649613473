package synth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/quant"
	"github.com/metalgraph/metalgraph/tokenizer"
)

func writeTiny(t *testing.T, o Options) (*gguf.File, []byte) {
	t.Helper()
	if o.Shape == "" {
		o.Shape = "tiny"
	}
	var buf bytes.Buffer
	require.NoError(t, Write(t.Context(), &buf, o))
	f, err := gguf.Parse(buf.Bytes())
	require.NoError(t, err)
	return f, buf.Bytes()
}

func TestTinyTypes(t *testing.T) {
	cases := []struct {
		typ                  string
		matrix, output, embd quant.Type
		fileType             uint64
	}{
		{"q4_0", quant.Q4_0, quant.Q6_K, quant.Q4_0, 2},
		{"q8_0", quant.Q8_0, quant.Q8_0, quant.Q8_0, 7},
		{"f16", quant.F16, quant.F16, quant.F16, 1},
		{"f32", quant.F32, quant.F32, quant.F32, 0},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			f, _ := writeTiny(t, Options{Type: c.typ, Seed: 7})
			keys := make([]string, len(f.KVs))
			for i, kv := range f.KVs {
				keys[i] = kv.Key
			}
			assert.Equal(t, []string{
				"general.architecture", "general.name", "llama.context_length", "llama.embedding_length",
				"llama.block_count", "llama.feed_forward_length", "llama.rope.dimension_count",
				"llama.attention.head_count", "llama.attention.head_count_kv",
				"llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base", "llama.vocab_size",
				"general.file_type", "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
				"tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
				"tokenizer.ggml.unknown_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
				"general.quantization_version",
			}, keys)
			for _, kv := range f.KVs {
				switch kv.Value.Type() {
				case gguf.Uint32, gguf.Float32, gguf.String, gguf.Bool, gguf.Array:
				default:
					t.Errorf("%s has type %s; llama.cpp writes uint32, float32, string, bool or arrays", kv.Key, kv.Value.Type())
				}
			}
			ft, err := f.Uint("general.file_type")
			require.NoError(t, err)
			assert.Equal(t, c.fileType, ft)
			qv, err := f.Uint("general.quantization_version")
			require.NoError(t, err)
			assert.Equal(t, uint64(2), qv)
			name, err := f.String("general.name")
			require.NoError(t, err)
			assert.Equal(t, "synth-tiny-"+c.typ+"-seed7", name)

			require.Len(t, f.Tensors, 2+2*9+1)
			for _, ti := range f.Tensors {
				want := c.matrix
				switch {
				case len(ti.Dims) == 1:
					want = quant.F32
				case ti.Name == "output.weight":
					want = c.output
				case ti.Name == "token_embd.weight":
					want = c.embd
				}
				assert.Equal(t, want, ti.Type, ti.Name)
			}
			for name, dims := range map[string][]int64{
				"token_embd.weight": {256, 512}, "output.weight": {256, 512}, "output_norm.weight": {256},
				"blk.1.attn_q.weight": {256, 256}, "blk.1.attn_k.weight": {256, 128}, "blk.1.attn_v.weight": {256, 128},
				"blk.1.attn_output.weight": {256, 256}, "blk.1.ffn_gate.weight": {256, 768},
				"blk.1.ffn_up.weight": {256, 768}, "blk.1.ffn_down.weight": {768, 256}, "blk.0.attn_norm.weight": {256},
			} {
				ti, ok := f.Tensor(name)
				require.True(t, ok, name)
				assert.Equal(t, dims, ti.Dims, name)
			}

			cfg, err := mistral.ConfigFromGGUF(f)
			require.NoError(t, err)
			assert.Equal(t, []int{256, 2, 8, 4, 32, 768, 512, 512, 32},
				[]int{cfg.Dim, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.HeadDim, cfg.FFN, cfg.Vocab, cfg.Context, cfg.RopeDims})
			assert.Equal(t, float32(10000), cfg.RopeBase)
			assert.Equal(t, float32(1e-5), cfg.Eps)
			assert.False(t, cfg.TiedEmbeddings)
			w, err := mistral.BindWeights(f, cfg)
			require.NoError(t, err)
			assert.Len(t, w.All(), len(f.Tensors))
		})
	}
}

func TestDeterminism(t *testing.T) {
	_, a := writeTiny(t, Options{Type: "q4_0", Seed: 1, Workers: 1})
	_, b := writeTiny(t, Options{Type: "q4_0", Seed: 1, Workers: 3})
	assert.True(t, bytes.Equal(a, b), "same seed, different worker counts: same bytes")

	fc, c := writeTiny(t, Options{Type: "q4_0", Seed: 2})
	require.Equal(t, len(a), len(c), "the seed changes values, not layout")
	fa, err := gguf.Parse(a)
	require.NoError(t, err)
	for _, ti := range fa.Tensors {
		tc, _ := fc.Tensor(ti.Name)
		assert.False(t, bytes.Equal(fa.TensorData(&ti), fc.TensorData(tc)), "%s differs between seeds", ti.Name)
	}
	// Every row has its own stream: no two rows of a matrix are equal.
	emb, _ := fa.Tensor("token_embd.weight")
	data := fa.TensorData(emb)
	rb := int(emb.Size / emb.Rows())
	seen := map[string]bool{}
	for r := 0; r < int(emb.Rows()); r++ {
		row := string(data[r*rb : (r+1)*rb])
		assert.False(t, seen[row], "row %d repeats an earlier row", r)
		seen[row] = true
	}
}

// rows dequantises a tensor of f to float32.
func rows(t *testing.T, f *gguf.File, name string) []float32 {
	t.Helper()
	ti, ok := f.Tensor(name)
	require.True(t, ok, name)
	out := make([]float32, ti.Elements())
	data := f.TensorData(ti)
	n := int(ti.Dims[0])
	rb := len(data) / int(ti.Rows())
	for r := 0; r < int(ti.Rows()); r++ {
		require.NoError(t, quant.DequantizeRow(ti.Type, data[r*rb:(r+1)*rb], out[r*n:(r+1)*n]))
	}
	return out
}

func meanStd(x []float32) (float64, float64) {
	var s, s2 float64
	for _, v := range x {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	m := s / float64(len(x))
	return m, math.Sqrt(s2/float64(len(x)) - m*m)
}

func TestWeightDistributions(t *testing.T) {
	f32, _ := writeTiny(t, Options{Type: "f32", Seed: 3})
	q4, _ := writeTiny(t, Options{Type: "q4_0", Seed: 3})
	for _, c := range []struct {
		name      string
		mean, std float64
	}{
		{"token_embd.weight", 0, 1},
		{"blk.0.attn_q.weight", 0, 2 / 16.0}, // gain 2 / sqrt(256)
		{"blk.0.attn_v.weight", 0, 1 / 16.0}, // 1 / sqrt(256)
		{"blk.1.ffn_down.weight", 0, 1 / math.Sqrt(768)},
		{"output.weight", 0, 4 / 16.0},
		{"blk.0.attn_norm.weight", 1, 0.1},
		{"output_norm.weight", 1, 0.1},
	} {
		x := rows(t, f32, c.name)
		m, s := meanStd(x)
		// Four standard errors of the sample mean and standard deviation.
		n := float64(len(x))
		assert.InDelta(t, c.mean, m, 4*c.std/math.Sqrt(n), "%s mean", c.name)
		assert.InDelta(t, c.std, s, 4*c.std/math.Sqrt(2*n), "%s std", c.name)
	}
	// The same seed draws the same values whatever the type, so Q4_0
	// dequantises close to the F32 model: within Q4_0's step (1/8 of each
	// block's largest magnitude, here about 0.4 standard deviations).
	a, b := rows(t, f32, "blk.0.ffn_gate.weight"), rows(t, q4, "blk.0.ffn_gate.weight")
	var se float64
	for i := range a {
		se += float64((a[i] - b[i]) * (a[i] - b[i]))
	}
	_, s := meanStd(a)
	rmse := math.Sqrt(se / float64(len(a)))
	assert.Less(t, rmse, 0.15*s, "Q4_0 error relative to the weights' spread")
	assert.Greater(t, rmse, 0.0)
}

func TestByteVocab(t *testing.T) {
	for _, size := range []int{260, 512, 32000} {
		v, err := byteVocab(size)
		require.NoError(t, err)
		assert.Equal(t, size, v.size)
		tokens, err := v.kvs[1].Value.AsStrings()
		require.NoError(t, err)
		require.Len(t, tokens, size)
		seen := map[string]bool{}
		for _, tok := range tokens {
			require.False(t, seen[tok], "duplicate piece %q (size %d)", tok, size)
			seen[tok] = true
		}
		assert.Equal(t, []string{"<unk>", "<s>", "</s>", "<0x00>"}, tokens[:4])
		assert.Equal(t, "<0xFF>", tokens[258])
	}
	_, err := byteVocab(259)
	assert.ErrorContains(t, err, "more than 259 tokens")

	// A Mistral-size byte vocabulary merges into pieces of up to four
	// letters; unknown characters fall back to bytes.
	v, err := byteVocab(32000)
	require.NoError(t, err)
	tok := vocabTokenizer(t, v)
	text := "the cat is in the hat"
	ids := tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true})
	assert.Equal(t, []string{"<s>", "▁the", "▁cat", "▁is", "▁in", "▁the", "▁hat"}, pieces(tok, ids))
	assert.Equal(t, text, tok.Decode(ids))
	ids = tok.Encode("é", tokenizer.EncodeOptions{})
	assert.Equal(t, []int32{3 + 0xC3, 3 + 0xA9}, ids[len(ids)-2:], "byte fallback")

	// The tiny model's 512 tokens still round-trip any text.
	f, _ := writeTiny(t, Options{Type: "q8_0"})
	tiny, err := tokenizer.FromGGUF(f)
	require.NoError(t, err)
	text = "Hello, world! Once upon a time… ünïcode"
	assert.Equal(t, text, tiny.Decode(tiny.Encode(text, tokenizer.EncodeOptions{AddSpecial: true})))
}

func vocabTokenizer(t *testing.T, v vocab) *tokenizer.Tokenizer {
	t.Helper()
	var buf bytes.Buffer
	gw := gguf.NewWriter(&buf)
	for _, kv := range v.kvs {
		require.NoError(t, gw.AddKV(kv.Key, kv.Value))
	}
	require.NoError(t, gw.WriteHeader())
	require.NoError(t, gw.Close())
	f, err := gguf.Parse(buf.Bytes())
	require.NoError(t, err)
	tok, err := tokenizer.FromGGUF(f)
	require.NoError(t, err)
	return tok
}

func pieces(tok *tokenizer.Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tok.Piece(id)
	}
	return out
}

func TestVocabFrom(t *testing.T) {
	p := shareddata.Path(t, "models", "llama-2-tiny-random.gguf")
	f, _ := writeTiny(t, Options{Type: "q8_0", VocabFrom: p})
	src, err := gguf.Open(p)
	require.NoError(t, err)
	defer src.Close()
	for _, kv := range src.KVs {
		if len(kv.Key) > 10 && kv.Key[:10] == "tokenizer." {
			got, ok := f.Lookup(kv.Key)
			require.True(t, ok, kv.Key)
			assert.Equal(t, kv.Value.String(), got.String(), kv.Key)
		}
	}
	emb, _ := f.Tensor("token_embd.weight")
	assert.Equal(t, []int64{256, 32000}, emb.Dims)
	vs, err := f.Uint("llama.vocab_size")
	require.NoError(t, err)
	assert.Equal(t, uint64(32000), vs)
	cfg, err := mistral.ConfigFromGGUF(f)
	require.NoError(t, err)
	_, err = mistral.BindWeights(f, cfg)
	require.NoError(t, err)
	tok, err := tokenizer.FromGGUF(f)
	require.NoError(t, err)
	assert.Equal(t, 32000, tok.VocabSize())

	notGGUF := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(notGGUF, []byte("hello there"), 0o644))
	err = Write(t.Context(), &bytes.Buffer{}, Options{Shape: "tiny", Type: "q4_0", VocabFrom: notGGUF})
	assert.ErrorContains(t, err, "bad magic")
	assert.ErrorContains(t, err, notGGUF)
}

func TestBadOptions(t *testing.T) {
	err := Write(t.Context(), &bytes.Buffer{}, Options{Shape: "huge", Type: "q4_0"})
	assert.EqualError(t, err, `synth: unknown shape "huge" (want tiny, mistral-7b)`)
	err = Write(t.Context(), &bytes.Buffer{}, Options{Shape: "tiny", Type: "q5_1"})
	assert.EqualError(t, err, `synth: unknown type "q5_1" (want q4_0, q8_0, f16, f32)`)
	assert.Equal(t, []string{"tiny", "mistral-7b"}, Shapes())
}

func TestProgressAndWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	var calls int
	var last, total int64
	err := WriteFile(t.Context(), path, Options{Shape: "tiny", Type: "q4_0", Progress: func(done, tot int64) {
		require.Greater(t, done, last)
		last, total = done, tot
		calls++
	}})
	require.NoError(t, err)
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var sum int64
	for _, ti := range f.Tensors {
		sum += ti.Size
	}
	assert.Equal(t, sum, total)
	assert.Equal(t, total, last)
	assert.GreaterOrEqual(t, calls, len(f.Tensors))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	assert.Zero(t, st.Size()%gguf.DefaultAlignment, "the last tensor is padded like llama.cpp pads it")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")

	bad := filepath.Join(t.TempDir(), "bad.gguf")
	require.Error(t, WriteFile(t.Context(), bad, Options{Shape: "tiny", Type: "nope"}))
	entries, err = os.ReadDir(filepath.Dir(bad))
	require.NoError(t, err)
	assert.Empty(t, entries, "a failed write leaves nothing behind")
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		w.n = 0
		return 0, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestStreamingMemory writes the start of a Mistral-7B Q4_0 into a writer
// that fails after 8 MiB, in the middle of token_embd (73.7 MB as Q4_0,
// 524 MB as float32). Streaming means the whole run allocates far less
// than that tensor; the write error stops the workers.
func TestStreamingMemory(t *testing.T) {
	before := runtime.NumGoroutine()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	err := Write(t.Context(), &failAfter{n: 8 << 20}, Options{Shape: "mistral-7b", Type: "q4_0", Seed: 1})
	runtime.ReadMemStats(&m1)
	require.ErrorIs(t, err, errDiskFull)
	allocated := m1.TotalAlloc - m0.TotalAlloc
	assert.Less(t, allocated, uint64(48<<20), "allocated %d MiB", allocated>>20)
	assertWorkersExit(t, before, "after a write error")
}

// assertWorkersExit checks that the goroutines started since there were
// before end within a few seconds.
func assertWorkersExit(t *testing.T, before int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "workers exit %s", when)
}

// TestCancel cancels the writing of a Mistral-7B (minutes of work) once
// 4 MiB of tensor data are written: Write returns the cause at once, the
// workers stop, and WriteFile leaves no file behind.
func TestCancel(t *testing.T) {
	stopped := errors.New("stopped by the test")
	o := Options{Shape: "mistral-7b", Type: "q4_0", Seed: 1}
	for _, toFile := range []bool{false, true} {
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancelCause(t.Context())
		var cancelled time.Time
		o.Progress = func(done, total int64) {
			if done >= 4<<20 && cancelled.IsZero() {
				cancelled = time.Now()
				cancel(stopped)
			}
		}
		dir := t.TempDir()
		var err error
		if toFile {
			err = WriteFile(ctx, filepath.Join(dir, "m7b.gguf"), o)
		} else {
			err = Write(ctx, io.Discard, o)
		}
		require.ErrorIs(t, err, stopped)
		require.False(t, cancelled.IsZero())
		assert.Less(t, time.Since(cancelled), time.Second, "Write returns promptly")
		assertWorkersExit(t, before, "after a cancel")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "a cancelled WriteFile leaves nothing")
	}
}

func TestChunksBounded(t *testing.T) {
	s, err := ShapeOf("mistral-7b")
	require.NoError(t, err)
	ts, err := typeSpecOf("f16")
	require.NoError(t, err)
	specs := plan(s, ts)
	require.Equal(t, "token_embd.weight", specs[0].name)
	chunks, stop := produce(specs, 1, 2)
	total := 0
	for c := range chunks {
		<-c.done
		require.NoError(t, c.err)
		assert.LessOrEqual(t, len(c.buf), chunkBytes, "chunk %d of %s", c.row0, c.t.name)
		total += c.rows
		if total >= 3*chunkBytes/(2*4096) {
			break
		}
	}
	close(stop)
	for c := range chunks {
		<-c.done
	}
	assert.Greater(t, total, chunkBytes/(2*4096), "several chunks were made")
}
