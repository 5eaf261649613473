package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// startServe runs 'mrun serve' on a free port and returns its base URL.
func startServe(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	model := shareddata.Path(t, "models", "stories260K.gguf")
	p := startMrun(t, nil, append([]string{"serve", "-m", model, "--addr", "127.0.0.1:0"}, args...)...)
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+) `)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return p, m[1]
		}
	}
	t.Fatalf("mrun serve did not start; stderr: %s", p.stderr)
	return nil, ""
}

// TestServeAnswersLikeRunAndDrainsOnSIGTERM: the server's greedy
// completion is 'mrun run --temp 0' text; a stream in flight when SIGTERM
// arrives still finishes, and mrun exits 0.
func TestServeAnswersLikeRunAndDrainsOnSIGTERM(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	rc, want, stderr := mrun(t, "", "run", "-m", model, "-p", "Once upon a time", "-n", "40", "--temp", "0")
	require.Equal(t, 0, rc, stderr)

	p, url := startServe(t, "--parallel", "2")
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"Once upon a time","max_tokens":40,"temperature":0}`))
	require.NoError(t, err)
	var v struct{ Choices []struct{ Text string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	resp.Body.Close()
	assert.Equal(t, strings.TrimSuffix(want, "\n"), v.Choices[0].Text)

	resp, err = http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"Once upon a time","max_tokens":1000,"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan())
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	last := ""
	for sc.Scan() {
		if sc.Text() != "" {
			last = sc.Text()
		}
	}
	assert.Equal(t, "data: [DONE]", last, "the stream in flight finished")
	assert.Equal(t, 0, p.wait(t, 10*time.Second), p.stderr.String())
	assert.Contains(t, p.stderr.String(), "POST /v1/completions 200 45 tokens")
	assert.Contains(t, p.stderr.String(), "shutting down")
}

// TestServeClosesStreamsPastTheDrainTime: a stream still running when the
// drain time ends is cut, its generation stopped, and mrun exits 0.
func TestServeClosesStreamsPastTheDrainTime(t *testing.T) {
	p, url := startServe(t, "--drain", "1ms")
	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"Once upon a time","max_tokens":2000,"temperature":1,"seed":7,"min_p":0,"top_k":0,"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan())
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	last := ""
	for sc.Scan() {
		if sc.Text() != "" {
			last = sc.Text()
		}
	}
	assert.NotEqual(t, "data: [DONE]", last, "the stream was cut")
	assert.Equal(t, 0, p.wait(t, 10*time.Second), p.stderr.String())
}

func TestServeUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "mrun serve: -m FILE is required (see 'mrun help serve')\n"},
		{[]string{"serve", "-m", "x.gguf", "--parallel", "0"}, "mrun serve: --parallel 0: must be between 1 and 64 (see 'mrun help serve')\n"},
		{[]string{"serve", "-m", "x.gguf", "--queue", "-1"}, "mrun serve: --queue -1 must be ≥ 0 (see 'mrun help serve')\n"},
		{[]string{"serve", "-m", "x.gguf", "extra"}, "mrun serve: unexpected argument \"extra\" (see 'mrun help serve')\n"},
	} {
		rc, out, stderr := mrun(t, "", c.args...)
		assert.Equal(t, 2, rc, c.args)
		assert.Empty(t, out)
		assert.Equal(t, c.want, stderr)
	}
	model := shareddata.Path(t, "models", "stories260K.gguf")
	rc, _, stderr := mrun(t, "", "serve", "-m", model, "--addr", "256.0.0.1:80")
	assert.Equal(t, 1, rc)
	requireOneLine(t, stderr[strings.Index(stderr, "mrun: serve:"):])
}
