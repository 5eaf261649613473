package synth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/safefile"
	"github.com/metalgraph/metalgraph/quant"
)

// Options say what model Write makes.
type Options struct {
	Shape string // one of Shapes(): "tiny", "mistral-7b"
	Type  string // one of Types(): "q4_0", "q8_0", "f16", "f32"
	Seed  int64
	// VocabFrom is the path of a GGUF file whose tokenizer.* keys are
	// copied; the vocabulary size is then its token count. Empty: a
	// byte-level vocabulary of the shape's size.
	VocabFrom string
	// Progress, when set, is called from Write's goroutine after each
	// chunk with the tensor bytes written so far and their total.
	Progress func(done, total int64)
	// Workers generate rows in parallel; 0 means GOMAXPROCS. The bytes
	// written do not depend on it.
	Workers int
}

// tensorSpec is one tensor to generate: rows of rowLen values drawn from
// N(0,1)·scale, plus 1 for norm weights.
type tensorSpec struct {
	name        string
	typ         quant.Type
	rowLen      int
	rows        int // 1 and vector true for a 1-D tensor
	vector      bool
	scale, bias float32
}

func (t tensorSpec) dims() []int64 {
	if t.vector {
		return []int64{int64(t.rowLen)}
	}
	return []int64{int64(t.rowLen), int64(t.rows)}
}

// plan lists the tensors in the order llama.cpp's converter writes a
// Llama/Mistral model: token_embd, then per block the attention and FFN
// matrices and the two norms, then output_norm and output.
//
// Scales: matrices N(0,1)/sqrt(fan_in), with gain 2 on Q and K (so that
// attention is not uniform) and 4 on output (so that logits spread);
// token_embd N(0,1); norm weights 1 + 0.1·N(0,1). These are the choices
// of ../shared's synth-d256-gqa models.
func plan(s Shape, ts typeSpec) []tensorSpec {
	mat := func(name string, typ quant.Type, rowLen, rows int, gain float64) tensorSpec {
		return tensorSpec{name: name, typ: typ, rowLen: rowLen, rows: rows, scale: float32(gain / math.Sqrt(float64(rowLen)))}
	}
	norm := func(name string) tensorSpec {
		return tensorSpec{name: name, typ: quant.F32, rowLen: s.Dim, rows: 1, vector: true, scale: 0.1, bias: 1}
	}
	output := ts.output
	if s.Dim%quant.QK_K != 0 && output.BlockSize() == quant.QK_K {
		output = quant.Q8_0 // llama.cpp's fallback when rows are not whole K-quant blocks
	}
	kv := s.KVHeads * s.HeadDim()
	out := []tensorSpec{{name: "token_embd.weight", typ: ts.matrix, rowLen: s.Dim, rows: s.Vocab, scale: 1}}
	for i := range s.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		out = append(out,
			mat(p+"attn_q.weight", ts.matrix, s.Dim, s.Dim, 2),
			mat(p+"attn_k.weight", ts.matrix, s.Dim, kv, 2),
			mat(p+"attn_v.weight", ts.matrix, s.Dim, kv, 1),
			mat(p+"attn_output.weight", ts.matrix, s.Dim, s.Dim, 1),
			mat(p+"ffn_gate.weight", ts.matrix, s.Dim, s.FFN, 1),
			mat(p+"ffn_up.weight", ts.matrix, s.Dim, s.FFN, 1),
			mat(p+"ffn_down.weight", ts.matrix, s.FFN, s.Dim, 1),
			norm(p+"attn_norm.weight"),
			norm(p+"ffn_norm.weight"),
		)
	}
	return append(out, norm("output_norm.weight"), mat("output.weight", output, s.Dim, s.Vocab, 4))
}

// metadata lists the keys llama.cpp writes for architecture llama, in its
// order, with the vocabulary's tokenizer.* keys.
func metadata(s Shape, ts typeSpec, o Options, v vocab) []gguf.KV {
	u32 := func(x int) gguf.Value { return gguf.Uint32Value(uint32(x)) }
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.StringValue("llama")},
		{Key: "general.name", Value: gguf.StringValue(fmt.Sprintf("synth-%s-%s-seed%d", s.Name, o.Type, o.Seed))},
		{Key: "llama.context_length", Value: u32(s.Context)},
		{Key: "llama.embedding_length", Value: u32(s.Dim)},
		{Key: "llama.block_count", Value: u32(s.Layers)},
		{Key: "llama.feed_forward_length", Value: u32(s.FFN)},
		{Key: "llama.rope.dimension_count", Value: u32(s.HeadDim())},
		{Key: "llama.attention.head_count", Value: u32(s.Heads)},
		{Key: "llama.attention.head_count_kv", Value: u32(s.KVHeads)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: gguf.Float32Value(s.Eps)},
		{Key: "llama.rope.freq_base", Value: gguf.Float32Value(s.RopeBase)},
		{Key: "llama.vocab_size", Value: u32(s.Vocab)},
		{Key: "general.file_type", Value: gguf.Uint32Value(ts.fileType)},
	}
	kvs = append(kvs, v.kvs...)
	return append(kvs, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32Value(2)})
}

// Write writes a model with deterministic random weights to w, streaming:
// rows are generated and quantised a chunk at a time (in parallel) and
// written in order, so memory stays a few megabytes per worker whatever
// the model's size. The same Options give the same bytes. Cancelling ctx
// stops the writing within a few chunks; Write then returns its cause.
func Write(ctx context.Context, w io.Writer, o Options) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	gw, tensors, err := writeHeader(bw, o)
	if err != nil {
		return err
	}
	if err := generate(ctx, bw, tensors, gw.Tensors(), o); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// writeHeader resolves the options and writes the GGUF header (metadata and
// tensor infos) of the model they describe.
func writeHeader(w io.Writer, o Options) (*gguf.Writer, []tensorSpec, error) {
	s, err := ShapeOf(o.Shape)
	if err != nil {
		return nil, nil, err
	}
	ts, err := typeSpecOf(o.Type)
	if err != nil {
		return nil, nil, err
	}
	var v vocab
	if o.VocabFrom != "" {
		v, err = vocabFrom(o.VocabFrom)
	} else {
		v, err = byteVocab(s.Vocab)
	}
	if err != nil {
		return nil, nil, err
	}
	s.Vocab = v.size
	tensors := plan(s, ts)
	gw := gguf.NewWriter(w)
	for _, kv := range metadata(s, ts, o, v) {
		if err := gw.AddKV(kv.Key, kv.Value); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range tensors {
		if err := gw.AddTensor(t.name, t.typ, t.dims()); err != nil {
			return nil, nil, err
		}
	}
	return gw, tensors, gw.WriteHeader()
}

// WriteFile writes the model to path through a temporary file in the same
// directory, renamed into place only when complete (see package
// safefile): a regular file at path is replaced, anything else at path is
// refused before any work, and a failed or cancelled write leaves nothing.
func WriteFile(ctx context.Context, path string, o Options) error {
	return safefile.Write(path, true, func(w io.Writer) error { return Write(ctx, w, o) })
}
