package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/modelinfo"
	"github.com/metalgraph/metalgraph/quant"
)

// evilName holds an escape sequence that turns the terminal red and a bell.
const evilName = "evil\x1b[31mred\x07"

func TestInspectEscapesMetadata(t *testing.T) {
	vocab := shareddata.Path(t, "models", "vocab", "ggml-vocab-llama-spm.gguf")
	model := testmodel.Rewrite(t, vocab, func(m *testmodel.Model) {
		m.SetKV("general.name", gguf.StringValue(evilName))
		m.Tensors = append(m.Tensors, testmodel.Tensor{Name: "blk.0\x1b[2J.weight", Type: quant.F32, Dims: []int64{32}})
	})
	// The stray tensor makes the file invalid: inspect prints the facts,
	// then the problem, all escaped, and exits 1.
	rc, out, errOut := mrun(t, "", "inspect", model, "--tensors")
	require.Equal(t, 1, rc, errOut)
	assert.NotContains(t, errOut, "\x1b")
	assert.Contains(t, out, `evil\x1b[31mred\x07`+"\n")
	assert.Contains(t, out, `  blk.0\x1b[2J.weight  `)
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\a")

	rc, out, errOut = mrun(t, "", "inspect", model, "--json", "--tensors")
	require.Equal(t, 1, rc, errOut)
	assert.NotContains(t, out, "\x1b")
	var info modelinfo.Info
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	assert.Equal(t, evilName, info.Name)
}

func TestRunEscapesTheModelName(t *testing.T) {
	model := testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		m.SetKV("general.name", gguf.StringValue(evilName))
	})
	rc, _, errOut := mrun(t, "", "run", "-m", model, "-p", "Once", "-n", "2")
	require.Equal(t, 0, rc, errOut)
	assert.Contains(t, errOut, `: evil\x1b[31mred\x07, 5 layers`)
	assert.NotContains(t, errOut, "\x1b")
}

// TestTokenizeEscapesPieces gives the control token </s> (id 2) a text
// with an escape sequence, which --special matches in the input.
func TestTokenizeEscapesPieces(t *testing.T) {
	const evilEOS = "</s\x1b[31m>"
	model := testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		for _, kv := range m.KVs {
			if kv.Key == "tokenizer.ggml.tokens" {
				tokens, err := kv.Value.AsStrings()
				require.NoError(t, err)
				tokens[2] = evilEOS
				m.SetKV(kv.Key, gguf.StringsValue(tokens))
			}
		}
	})
	rc, out, errOut := mrun(t, "", "tokenize", "-m", model, "--pieces", "--no-bos", "--special", evilEOS)
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, `     2 -> '</s\x1b[31m>'`+"\n", out)
}

func TestErrorsEscapeWhatTheyQuote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x\x1b[31m.gguf")
	rc, _, errOut := mrun(t, "", "inspect", path)
	assert.Equal(t, 1, rc)
	requireOneLine(t, errOut)
	assert.Contains(t, errOut, `x\x1b[31m.gguf: no such file or directory`)
	assert.NotContains(t, errOut, "\x1b")
}
