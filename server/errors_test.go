package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/server"
)

func TestBadRequestsGetOpenAIErrors(t *testing.T) {
	ts := start(t, 1, server.Config{MaxBodyBytes: 4096}, nil)
	long := strings.Repeat("Once upon a time ", 80) // BOS, 4 tokens a time, a last space: 322 > 256
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		typ, code, param         string
		message                  string
	}{
		{"unknown route", "GET", "/v2/models", "", 404, "not_found_error", "not_found", "", "unknown route GET /v2/models"},
		{"wrong method", "GET", "/v1/completions", "", 405, "invalid_request_error", "method_not_allowed", "", "GET /v1/completions: use POST"},
		{"unknown model", "POST", "/v1/completions", `{"model":"gpt-4","prompt":"x"}`, 404, "invalid_request_error", "model_not_found", "model", `the model "gpt-4" does not exist; this server serves "stories260K"`},
		{"unknown model by path", "GET", "/v1/models/gpt-4", "", 404, "invalid_request_error", "model_not_found", "model", `the model "gpt-4" does not exist; this server serves "stories260K"`},
		{"empty body", "POST", "/v1/completions", "", 400, "invalid_request_error", "", "", "the request body is empty; send a JSON object"},
		{"malformed JSON", "POST", "/v1/completions", `{"prompt": "x",`, 400, "invalid_request_error", "", "", "the request body is not valid JSON: unexpected EOF"},
		{"not an object", "POST", "/v1/completions", `["x"]`, 400, "invalid_request_error", "", "", "the request body must be a JSON object, not array"},
		{"trailing data", "POST", "/v1/completions", `{"prompt":"x"} {}`, 400, "invalid_request_error", "", "", "the body must hold one JSON object and nothing after it"},
		{"max_tokens a string", "POST", "/v1/completions", `{"prompt":"x","max_tokens":"9"}`, 400, "invalid_request_error", "", "max_tokens", "'max_tokens' must be an integer, not string"},
		{"max_tokens a fraction", "POST", "/v1/completions", `{"prompt":"x","max_tokens":1.5}`, 400, "invalid_request_error", "", "max_tokens", "'max_tokens' must be an integer, not number 1.5"},
		{"max_tokens zero", "POST", "/v1/completions", `{"prompt":"x","max_tokens":0}`, 400, "invalid_request_error", "", "max_tokens", "'max_tokens' must be at least 1, got 0"},
		{"stream not a boolean", "POST", "/v1/completions", `{"prompt":"x","stream":"yes"}`, 400, "invalid_request_error", "", "stream", "'stream' must be a boolean, not string"},
		{"temperature too high", "POST", "/v1/completions", `{"prompt":"x","temperature":3}`, 400, "invalid_request_error", "", "temperature", "'temperature' must be between 0 and 2, got 3"},
		{"top_p negative", "POST", "/v1/completions", `{"prompt":"x","top_p":-0.1}`, 400, "invalid_request_error", "", "top_p", "'top_p' must be between 0 and 1, got -0.1"},
		{"top_k negative", "POST", "/v1/completions", `{"prompt":"x","top_k":-1}`, 400, "invalid_request_error", "", "top_k", "'top_k' must be at least 0 (0 = all tokens), got -1"},
		{"min_p above one", "POST", "/v1/completions", `{"prompt":"x","min_p":1.5}`, 400, "invalid_request_error", "", "min_p", "'min_p' must be between 0 and 1, got 1.5"},
		{"repeat_penalty negative", "POST", "/v1/completions", `{"prompt":"x","repeat_penalty":-1}`, 400, "invalid_request_error", "", "repeat_penalty", "'repeat_penalty' must be at least 0, got -1"},
		{"n above one", "POST", "/v1/completions", `{"prompt":"x","n":2}`, 400, "invalid_request_error", "", "n", "'n' must be 1 (one choice per request), got 2"},
		{"five stops", "POST", "/v1/completions", `{"prompt":"x","stop":["a","b","c","d","e"]}`, 400, "invalid_request_error", "", "stop", "'stop' may hold at most 4 strings, got 5"},
		{"stop a number", "POST", "/v1/completions", `{"prompt":"x","stop":7}`, 400, "invalid_request_error", "", "stop", "'stop' must be a string or an array of strings"},
		{"no prompt", "POST", "/v1/completions", `{"max_tokens":3}`, 400, "invalid_request_error", "", "prompt", "'prompt' is required"},
		{"prompt batch", "POST", "/v1/completions", `{"prompt":["a","b"]}`, 400, "invalid_request_error", "", "prompt", "'prompt' must hold exactly one string (batches are not supported), got 2"},
		{"prompt too long", "POST", "/v1/completions", `{"prompt":"` + long + `"}`, 400, "invalid_request_error", "context_length_exceeded", "", "the prompt has 322 tokens, more than the context of 256 (raise --ctx or shorten it)"},
		{"no messages", "POST", "/v1/chat/completions", `{"messages":[]}`, 400, "invalid_request_error", "", "messages", "'messages' must hold at least one message"},
		{"unknown role", "POST", "/v1/chat/completions", `{"messages":[{"role":"wizard","content":"x"}]}`, 400, "invalid_request_error", "", "messages[0].role", `messages[0].role "wizard" is not one of system, user, assistant`},
		{"image content", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "invalid_request_error", "", "messages[0].content", "messages[0].content must be a string or an array of text parts"},
		{"template refuses", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, 400, "invalid_request_error", "", "messages", "chat template: conversation roles must alternate user/assistant/user/assistant/... after an optional system message"},
		{"body too large", "POST", "/v1/completions", `{"prompt":"` + strings.Repeat("x", 5000) + `"}`, 413, "invalid_request_error", "request_too_large", "", "the request body is larger than the limit of 4096 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.Equal(t, c.status, resp.StatusCode)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			v := decodeBody(t, resp)
			require.Len(t, v, 1)
			e := v["error"].(map[string]any)
			require.Equal(t, c.message, e["message"])
			require.Equal(t, c.typ, e["type"])
			require.Equal(t, orNil(c.code), e["code"])
			require.Equal(t, orNil(c.param), e["param"])
		})
	}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestTheAPIKeyIsRequiredOnV1(t *testing.T) {
	ts := start(t, 1, server.Config{APIKey: "sesame"}, nil)
	for _, auth := range []string{"", "Bearer wrong", "sesame"} {
		req, err := http.NewRequest("GET", ts.URL+"/v1/models", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "invalid_api_key", decodeBody(t, resp)["error"].(map[string]any)["code"])
	}
	req, err := http.NewRequest("GET", ts.URL+"/v1/models", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sesame")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	resp, err = http.Get(ts.URL + "/health") // open: a load balancer's probe has no key
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
}
