package main

import (
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/modelinfo"
)

// sharedFacts are facts stated in ../shared/models/README.md.
type sharedFacts struct {
	arch                 string
	layers, heads, kv    int
	vocab                int // tokenizer vocabulary size
	tensors              int
	types                map[string]int // tensor count by type
	mix                  string
	hyperparametersKnown bool
}

var facts = map[string]sharedFacts{
	"stories260K.gguf":              {"llama", 5, 8, 4, 512, 48, map[string]int{"F32": 48}, "F32", true},
	"llama-2-tiny-random.gguf":      {"llama", 1, 2, 2, 32000, 12, map[string]int{"F16": 9, "F32": 3}, "F16", true},
	"stories260K-ffn192-f32.gguf":   {"llama", 5, 8, 4, 512, 48, map[string]int{"F32": 48}, "F32", true},
	"stories260K-ffn192-Q8_0.gguf":  {"llama", 5, 8, 4, 512, 48, map[string]int{"Q8_0": 37, "F32": 11}, "Q8_0", true},
	"stories260K-ffn192-Q4_0.gguf":  {"llama", 5, 8, 4, 512, 48, map[string]int{"Q4_0": 36, "Q8_0": 1, "F32": 11}, "Q4_0, output.weight Q8_0", true},
	"synth-d256-gqa-f32.gguf":       {"llama", 2, 8, 4, 512, 21, map[string]int{"F32": 21}, "F32", true},
	"synth-d256-gqa-Q8_0.gguf":      {"llama", 2, 8, 4, 512, 21, map[string]int{"Q8_0": 16, "F32": 5}, "Q8_0", true},
	"synth-d256-gqa-Q6_K.gguf":      {"llama", 2, 8, 4, 512, 21, map[string]int{"Q6_K": 16, "F32": 5}, "Q6_K", true},
	"synth-d256-gqa-Q4_0.gguf":      {"llama", 2, 8, 4, 512, 21, map[string]int{"Q4_0": 15, "Q6_K": 1, "F32": 5}, "Q4_0, output.weight Q6_K", true},
	"synth-d256-gqa-Q4_0-pure.gguf": {"llama", 2, 8, 4, 512, 21, map[string]int{"Q4_0": 16, "F32": 5}, "Q4_0", true},
	"ggml-vocab-llama-spm.gguf":     {"llama", 0, 0, 0, 32000, 0, map[string]int{}, "no tensors", false},
	"ggml-vocab-phi-3.gguf":         {"phi3", 0, 0, 0, 32064, 0, map[string]int{}, "no tensors", false},
	"ggml-vocab-baichuan.gguf":      {"baichuan", 0, 0, 0, 64000, 0, map[string]int{}, "no tensors", false},
}

func TestInspectSharedModels(t *testing.T) {
	root := shareddata.Path(t, "models")
	var files []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gguf") {
			files = append(files, p)
		}
		return err
	}))
	require.NotEmpty(t, files)
	checked := 0
	for _, p := range files {
		name := filepath.Base(p)
		rc, out, errOut := mrun(t, "", "inspect", p, "--json")
		require.Equal(t, 0, rc, "%s: %s", name, errOut)
		var info modelinfo.Info
		require.NoError(t, json.Unmarshal([]byte(out), &info), name)
		assert.Empty(t, info.Tensors, "%s: no tensor list without --tensors", name)

		rc, text, errOut := mrun(t, "", "inspect", "--tensors", p)
		require.Equal(t, 0, rc, "%s: %s", name, errOut)
		assert.Regexp(t, `\nquantization +`+regexp.QuoteMeta(info.QuantMix)+`\n`, text, name)

		f, ok := facts[name]
		if !ok {
			continue // a fixture added after this table: it must still inspect cleanly
		}
		checked++
		assert.Equal(t, f.arch, info.Architecture, name)
		assert.Equal(t, f.tensors, info.TensorCount, name)
		assert.Equal(t, f.mix, info.QuantMix, name)
		types := map[string]int{}
		for _, tc := range info.TensorTypes {
			types[tc.Type] = tc.Count
		}
		assert.Equal(t, f.types, types, name)
		require.NotNil(t, info.Tokenizer, name)
		assert.Equal(t, f.vocab, info.Tokenizer.VocabSize, name)
		assert.Equal(t, "llama", info.Tokenizer.Model, name)
		if !f.hyperparametersKnown {
			assert.Nil(t, info.Hyperparameters, name)
			assert.NotEmpty(t, info.HyperparametersError, name)
			continue
		}
		h := info.Hyperparameters
		require.NotNil(t, h, "%s: %s", name, info.HyperparametersError)
		assert.Equal(t, []int{f.layers, f.heads, f.kv, f.vocab}, []int{h.Layers, h.Heads, h.KVHeads, h.Vocab}, name)
		for _, tn := range []string{"token_embd.weight", "output.weight", "blk.0.attn_q.weight"} {
			assert.Contains(t, text, "  "+tn+"  ", "%s lists %s", name, tn)
		}
	}
	assert.Equal(t, len(facts), checked, "every file of the README was found")
}

func TestInspectBadInputs(t *testing.T) {
	dir := t.TempDir()
	good := shareddata.Path(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf")
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	cases := []struct {
		path string
		msg  string
	}{
		{filepath.Join(dir, "missing.gguf"), "no such file or directory"},
		{dir, "is a directory"},
		{write("empty.gguf", nil), "the file is empty"},
		{write("truncated.gguf", data[:len(data)/2]), "truncated"},
		{write("header-cut.gguf", data[:5000]), "truncated"},
		{write("notes.txt", []byte("hello, this is text\n")), `bad magic "hell"`},
	}
	for _, c := range cases {
		rc, out, errOut := mrun(t, "", "inspect", c.path)
		assert.Equal(t, 1, rc, c.path)
		assert.Empty(t, out, c.path)
		requireOneLine(t, errOut)
		assert.True(t, strings.HasPrefix(errOut, "mrun: inspect: "), errOut)
		assert.Contains(t, errOut, c.msg)
		assert.Contains(t, errOut, c.path, "the message names the file")
	}
	rc, _, errOut := mrun(t, "", "inspect", good, good)
	assert.Equal(t, 2, rc)
	requireOneLine(t, errOut)
}

// Files that mrun run refuses make inspect exit 1 too, after it prints
// every fact it could read (text or JSON) and one line naming the problem.
func TestInspectExitsOneOnModelsRunRefuses(t *testing.T) {
	src := shareddata.Path(t, "models", "stories260K.gguf")
	cases := []struct {
		name string
		edit func(*testmodel.Model)
		want string
	}{
		{"block_count 2^24", func(m *testmodel.Model) { m.SetKV("llama.block_count", gguf.Uint32Value(1<<24)) },
			"llama.block_count = 16777216, but the file holds tensors for 5 blocks"},
		{"yarn rope", func(m *testmodel.Model) { m.SetKV("llama.rope.scaling.type", gguf.StringValue("yarn")) },
			`llama.rope.scaling.type = "yarn" is not supported`},
		{"NaN epsilon", func(m *testmodel.Model) {
			m.SetKV("llama.attention.layer_norm_rms_epsilon", gguf.Float32Value(float32(math.NaN())))
		}, "llama.attention.layer_norm_rms_epsilon = NaN"},
		{"missing tensor", func(m *testmodel.Model) { m.Drop("blk.4.ffn_down.weight") }, "missing tensor blk.4.ffn_down.weight"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testmodel.Rewrite(t, src, c.edit)
			rc, out, errOut := mrun(t, "", "inspect", path)
			assert.Equal(t, 1, rc)
			requireOneLine(t, errOut)
			assert.True(t, strings.HasPrefix(errOut, "mrun: inspect: "+path+": "), errOut)
			assert.Contains(t, errOut, c.want)
			assert.Regexp(t, `\narchitecture +llama\n`, out, "the facts are still printed")
			assert.Regexp(t, `\nquantization +F32\n`, out)
			assert.Regexp(t, `\ntokenizer +llama, 512 tokens\n`, out)

			rc, out, _ = mrun(t, "", "inspect", "--json", path)
			assert.Equal(t, 1, rc)
			var info modelinfo.Info
			require.NoError(t, json.Unmarshal([]byte(out), &info))
			assert.Contains(t, info.Problem, c.want)
			assert.Equal(t, "F32", info.QuantMix)
			assert.Positive(t, info.TensorCount)
		})
	}
}
