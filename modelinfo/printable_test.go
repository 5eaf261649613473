package modelinfo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"synth-tiny-q4_0":           "synth-tiny-q4_0",
		"▁Once über 日本":             "▁Once über 日本",
		"red\x1b[31mtext\x1b[0m":    `red\x1b[31mtext\x1b[0m`,
		"bell\a tab\t nl\n cr\r":    `bell\x07 tab\x09 nl\x0a cr\x0d`,
		"del\x7f csi\u009b2J":       `del\x7f csi\x9b2J`,
		"title\x1b]0;pwned\x07":     `title\x1b]0;pwned\x07`,
		"abc\u202edcba":             `abc\u202edcba`,
		"bad\xff\xfeutf8":           `bad\xff\xfeutf8`,
		`already \x1b escaped text`: `already \x1b escaped text`,
	} {
		got := Printable(in)
		assert.Equal(t, want, got, "%q", in)
		assert.False(t, strings.ContainsFunc(got, unprintable), "%q", got)
	}
}

// evilInfo is a report whose file strings hold escape sequences.
func evilInfo() *Info {
	return &Info{
		Architecture: "llama",
		Name:         "evil\x1b[31mred\x07\x7f\u009b\u202e",
		QuantMix:     "F32",
		Tensors:      []Tensor{{Name: "blk.0\x1b[2J.weight", Type: "F32", Dims: []int64{4}}},
	}
}

func TestWriteTextEscapes(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, evilInfo().WriteText(&out, true))
	text := out.String()
	assert.Contains(t, text, `evil\x1b[31mred\x07\x7f\x9b\u202e`+"\n")
	assert.Contains(t, text, `  blk.0\x1b[2J.weight  `)
	assert.NotContains(t, text, "\x1b")
	assert.False(t, strings.ContainsFunc(strings.ReplaceAll(text, "\n", ""), unprintable), "%q", text)
}

func TestWriteJSONEscapes(t *testing.T) {
	var out bytes.Buffer
	info := evilInfo()
	require.NoError(t, info.WriteJSON(&out))
	doc := out.String()
	assert.True(t, strings.HasSuffix(doc, "}\n"))
	assert.Contains(t, doc, `"name": "evil\u001b[31mred\u0007\u007f\u009b\u202e"`)
	assert.False(t, strings.ContainsFunc(strings.ReplaceAll(doc, "\n", ""), unprintable), "%q", doc)
	var back Info
	require.NoError(t, json.Unmarshal(out.Bytes(), &back))
	assert.Equal(t, info.Name, back.Name, "the escapes decode to the same strings")
	assert.Equal(t, info.Tensors[0].Name, back.Tensors[0].Name)
}
