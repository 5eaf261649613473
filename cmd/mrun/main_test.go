package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mrun runs the command in-process with stdin and returns its exit status
// and output streams.
func mrun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	rc := runWith(strings.NewReader(stdin), args, &out, &errOut)
	return rc, out.String(), errOut.String()
}

// requireOneLine checks that a failure printed exactly one line.
func requireOneLine(t *testing.T, stderr string) {
	t.Helper()
	require.True(t, strings.HasSuffix(stderr, "\n"), "stderr %q", stderr)
	require.Equal(t, 1, strings.Count(stderr, "\n"), "stderr %q", stderr)
	require.NotContains(t, stderr, "goroutine")
}

func TestUsage(t *testing.T) {
	rc, out, errOut := mrun(t, "")
	assert.Equal(t, 2, rc)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "usage: mrun <command>")

	rc, out, _ = mrun(t, "", "help")
	assert.Equal(t, 0, rc)
	for _, c := range []string{"inspect", "tokenize", "synth"} {
		assert.Contains(t, out, "\n  "+c+" ", "help lists %s", c)
	}

	rc, out, _ = mrun(t, "", "help", "tokenize")
	assert.Equal(t, 0, rc)
	assert.Contains(t, out, "usage: mrun tokenize -m FILE")
	assert.Contains(t, out, "-no-bos")

	rc, out, _ = mrun(t, "", "inspect", "-h")
	assert.Equal(t, 0, rc)
	assert.Contains(t, out, "usage: mrun inspect FILE")
}

func TestUnknownCommand(t *testing.T) {
	rc, out, errOut := mrun(t, "", "frobnicate", "x")
	assert.Equal(t, 2, rc)
	assert.Empty(t, out)
	first, rest, _ := strings.Cut(errOut, "\n")
	assert.Equal(t, `mrun: unknown command "frobnicate"`, first)
	assert.Contains(t, rest, "usage: mrun <command>")

	rc, _, errOut = mrun(t, "", "help", "frobnicate")
	assert.Equal(t, 2, rc)
	requireOneLine(t, errOut)
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"inspect", "--bogus", "x.gguf"},
		{"inspect", "x.gguf", "--json=maybe"},
		{"tokenize", "-m"},
		{"synth", "--seed", "many", "-o", "x.gguf"},
	} {
		rc, out, errOut := mrun(t, "", args...)
		assert.Equal(t, 2, rc, "%v", args)
		assert.Empty(t, out, "%v", args)
		requireOneLine(t, errOut)
		assert.True(t, strings.HasPrefix(errOut, "mrun "+args[0]+": "), "%q", errOut)
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	j := fs.Bool("json", false, "")
	n := fs.Int("n", 0, "")
	pos, err := parseInterspersed(fs, []string{"a", "--json", "b", "-n", "3", "--", "-c", "--json"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "-c", "--json"}, pos)
	assert.True(t, *j)
	assert.Equal(t, 3, *n)

	pos, err = parseInterspersed(fs, []string{"-", "x"})
	require.NoError(t, err)
	assert.Equal(t, []string{"-", "x"}, pos, "a lone dash is an argument")
}
