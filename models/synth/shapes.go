package synth

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/quant"
)

// Shape is a model's hyperparameters.
type Shape struct {
	Name                string
	Dim, Layers         int
	Heads, KVHeads      int
	FFN, Vocab, Context int
	RopeBase, Eps       float32
	description         string
}

// shapes are the models Write can make. Every row length (Dim, FFN) is a
// multiple of 256, so K-quants apply to every matrix.
var shapes = []Shape{
	{
		Name: "tiny", Dim: 256, Layers: 2, Heads: 8, KVHeads: 4, FFN: 768, Vocab: 512, Context: 512,
		RopeBase: 10000, Eps: 1e-5,
		description: "the shape of ../shared synth-d256-gqa: 2 blocks, GQA 8/4 heads of 32, ffn 768",
	},
	{
		Name: "mistral-7b", Dim: 4096, Layers: 32, Heads: 32, KVHeads: 8, FFN: 14336, Vocab: 32000, Context: 32768,
		RopeBase: 1e6, Eps: 1e-5,
		description: "Mistral-7B v0.2: 32 blocks, GQA 32/8 heads of 128, ffn 14336, rope base 1e6, no sliding window",
	},
}

// Shapes lists the shape names Options.Shape accepts.
func Shapes() []string {
	names := make([]string, len(shapes))
	for i, s := range shapes {
		names[i] = s.Name
	}
	return names
}

// ShapeOf returns the named shape.
func ShapeOf(name string) (Shape, error) {
	for _, s := range shapes {
		if s.Name == name {
			return s, nil
		}
	}
	return Shape{}, fmt.Errorf("synth: unknown shape %q (want %s)", name, strings.Join(Shapes(), ", "))
}

// Describe says what the shape is, in one line.
func (s Shape) Describe() string { return s.description }

// HeadDim is the size of one attention head.
func (s Shape) HeadDim() int { return s.Dim / s.Heads }

// typeSpec is how one Options.Type stores the tensors.
type typeSpec struct {
	matrix   quant.Type // every matrix, token_embd included
	output   quant.Type // output.weight when its rows are whole K-quant blocks
	fileType uint32     // general.file_type (llama_ftype)
}

// typeSpecs follow what llama.cpp writes: a default llama-quantize Q4_0
// stores output.weight as Q6_K; Q8_0 and F16 are uniform. Norms are F32.
var typeSpecs = []struct {
	name string
	spec typeSpec
}{
	{"q4_0", typeSpec{quant.Q4_0, quant.Q6_K, 2}},
	{"q8_0", typeSpec{quant.Q8_0, quant.Q8_0, 7}},
	{"f16", typeSpec{quant.F16, quant.F16, 1}},
	{"f32", typeSpec{quant.F32, quant.F32, 0}},
}

// Types lists the type names Options.Type accepts.
func Types() []string {
	names := make([]string, len(typeSpecs))
	for i, t := range typeSpecs {
		names[i] = t.name
	}
	return names
}

func typeSpecOf(name string) (typeSpec, error) {
	for _, t := range typeSpecs {
		if t.name == name {
			return t.spec, nil
		}
	}
	return typeSpec{}, fmt.Errorf("synth: unknown type %q (want %s)", name, strings.Join(Types(), ", "))
}
