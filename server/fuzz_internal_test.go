package server

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestBodies: request bodies come from any client; decoding and
// checking one gives parameters or an OpenAI-style error with a 4xx
// status, never a panic.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"prompt":"Once","max_tokens":4,"temperature":0}`,
		`{"messages":[{"role":"user","content":"hi"}],"stream":true,"stop":["\n","x"]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"prompt":["a","b"],"top_p":2,"top_k":-1,"seed":-5}`, `{"temperature":"hot"}`, `[1,2]`, `{}`, ``, `{"stop":5}`,
		`{"n":1e400,"max_tokens":1.5,"min_p":null,"repeat_penalty":-1,"stream_options":{"include_usage":true}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, chat := range []bool{false, true} {
			r := httptest.NewRequest("POST", "/v1/completions", strings.NewReader(body))
			var e *apiError
			if chat {
				var req chatRequest
				if e = decode(r, &req); e == nil {
					if _, e = req.commonFields.params(); e == nil {
						_, e = req.messages()
					}
				}
			} else {
				var req completionRequest
				if e = decode(r, &req); e == nil {
					if _, e = req.commonFields.params(); e == nil {
						_, e = req.prompt()
					}
				}
			}
			if e != nil && (e.status < 400 || e.status > 499) {
				t.Fatalf("body %q: status %d for a client's mistake", body, e.status)
			}
		}
	})
}
