package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/chattemplate"
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/runtimes"
	"github.com/metalgraph/metalgraph/server"
	"github.com/metalgraph/metalgraph/tokenizer"
)

const modelName = "stories260K"

// start serves stories260K with the given number of slots (and cfg's
// limits) on a test server. A non-nil hook runs before every step of
// every slot (to slow, hold or break them).
func start(t testing.TB, slots int, cfg server.Config, hook func()) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(newServer(t, slots, cfg, hook))
	t.Cleanup(ts.Close)
	return ts
}

// newServer is start's server, unstarted.
func newServer(t testing.TB, slots int, cfg server.Config, hook func()) *server.Server {
	t.Helper()
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.FromGGUF(m.File)
	require.NoError(t, err)
	for range slots {
		b, err := runtimes.Open("cpu", m.File.Bytes(), runtimes.Options{Threads: 1})
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		if hook != nil {
			b = &hookedBackend{Backend: b, hook: hook}
		}
		s, err := engine.NewSession(m, b, engine.Options{Context: 256})
		require.NoError(t, err)
		cfg.Sessions = append(cfg.Sessions, s)
	}
	cfg.Model, cfg.Tokenizer = modelName, tok
	if cfg.Template, err = chattemplate.FromGGUF(m.File, tok); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg)
	require.NoError(t, err)
	return srv
}

// greedy is llama.cpp's (and 'mrun run --temp 0') text for "Once upon a time".
func greedy(t testing.TB) string {
	want, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
	require.NoError(t, err)
	return want.GreedyText
}

func post(t testing.TB, ts *httptest.Server, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	return resp, decodeBody(t, resp)
}

func decodeBody(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// events reads a server-sent event stream up to [DONE] (which it checks
// comes last) and returns the decoded events.
func events(t testing.TB, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	done := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		require.False(t, done, "nothing after [DONE]")
		data, ok := strings.CutPrefix(line, "data: ")
		require.True(t, ok, "an event line: %q", line)
		if data == "[DONE]" {
			done = true
			continue
		}
		var v map[string]any
		require.NoError(t, json.NewDecoder(bytes.NewReader([]byte(data))).Decode(&v))
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	require.True(t, done, "the stream ends with [DONE]")
	return out
}

// text joins what a stream's chunks carry.
func text(evs []map[string]any) string {
	var b strings.Builder
	for _, ev := range evs {
		for _, c := range ev["choices"].([]any) {
			c := c.(map[string]any)
			if d, ok := c["delta"].(map[string]any); ok {
				s, _ := d["content"].(string)
				b.WriteString(s)
			} else {
				b.WriteString(c["text"].(string))
			}
		}
	}
	return b.String()
}

func choice(v map[string]any) map[string]any {
	return v["choices"].([]any)[0].(map[string]any)
}

type hookedBackend struct {
	engine.Backend
	hook func()
}

func (b *hookedBackend) Compile(p *plan.Plan) (engine.Program, error) {
	prog, err := b.Backend.Compile(p)
	return &hookedProgram{Program: prog, hook: b.hook}, err
}

type hookedProgram struct {
	engine.Program
	hook func()
}

func (p *hookedProgram) Run(tokens []int32, pos0 int) ([]float32, error) {
	p.hook()
	return p.Program.Run(tokens, pos0)
}

// syncBuffer collects the server's log lines from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
