package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

func TestTokenize(t *testing.T) {
	m := shareddata.Path(t, "models", "stories260K.gguf")
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"-m", m, "Once upon a time"}, "1 403 407 261 378\n"},
		{"", []string{"Once upon a time", "--model", m, "--ids"}, "1 403 407 261 378\n"},
		{"", []string{"-m", m, "--no-bos", "Once upon a time"}, "403 407 261 378\n"},
		{"Once upon a time", []string{"-m", m, "-"}, "1 403 407 261 378\n"},
		{"", []string{"-m", m, "--pieces", "Once upon"},
			"     1 -> '<s>'\n   403 -> '▁Once'\n   407 -> '▁upon'\n"},
		{"", []string{"-m", m, "--no-bos", "--special", "<s>Once"}, "1 403\n"},
	}
	for _, c := range cases {
		rc, out, errOut := mrun(t, c.stdin, append([]string{"tokenize"}, c.args...)...)
		assert.Equal(t, 0, rc, "%v: %s", c.args, errOut)
		assert.Equal(t, c.want, out, "%v", c.args)
	}
	// Without --special the text "<s>" is ordinary characters.
	_, out, _ := mrun(t, "", "tokenize", "-m", m, "--no-bos", "<s>Once")
	assert.NotEqual(t, "1 403\n", out)
}

func TestTokenizeErrors(t *testing.T) {
	m := shareddata.Path(t, "models", "stories260K.gguf")
	for _, c := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"hello"}, 2, "-m FILE is required"},
		{[]string{"-m", m}, 2, "want one TEXT argument"},
		{[]string{"-m", m, "two", "words"}, 2, "want one TEXT argument"},
		{[]string{"-m", m, "--ids", "--pieces", "x"}, 2, "exclude each other"},
		{[]string{"-m", "/nonexistent/model.gguf", "x"}, 1, "no such file"},
	} {
		rc, out, errOut := mrun(t, "", append([]string{"tokenize"}, c.args...)...)
		assert.Equal(t, c.rc, rc, "%v", c.args)
		assert.Empty(t, out)
		requireOneLine(t, errOut)
		assert.Contains(t, errOut, c.msg)
	}
}
