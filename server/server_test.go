package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/server"
)

func TestGreedyCompletionEqualsMrunRun(t *testing.T) {
	ts := start(t, 1, server.Config{}, nil)
	resp, v := post(t, ts, "/v1/completions", `{"model":"stories260K","prompt":"Once upon a time","max_tokens":32,"temperature":0}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text_completion", v["object"])
	require.Equal(t, greedy(t), choice(v)["text"])
	require.Equal(t, "length", choice(v)["finish_reason"])
	require.Equal(t, map[string]any{"prompt_tokens": 5.0, "completion_tokens": 32.0, "total_tokens": 37.0}, v["usage"])

	// Streamed, the chunks add up to the same text.
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":["Once upon a time"],"max_tokens":32,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	evs := events(t, resp.Body)
	require.Equal(t, greedy(t), text(evs))
	last := evs[len(evs)-1]
	require.Empty(t, last["choices"])
	require.Equal(t, 37.0, last["usage"].(map[string]any)["total_tokens"])
	require.Equal(t, "length", choice(evs[len(evs)-2])["finish_reason"])
}

func TestStopStrings(t *testing.T) {
	ts := start(t, 1, server.Config{}, nil)
	for _, stream := range []string{"false", "true"} {
		body := `{"prompt":"Once upon a time","max_tokens":32,"temperature":0,"stop":["Lily", "park"],"stream":` + stream + `}`
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		var got, finish string
		if stream == "true" {
			evs := events(t, resp.Body)
			got, finish = text(evs), choice(evs[len(evs)-1])["finish_reason"].(string)
		} else {
			v := decodeBody(t, resp)
			got, finish = choice(v)["text"].(string), choice(v)["finish_reason"].(string)
		}
		resp.Body.Close()
		require.Equal(t, ", there was a little girl named ", got, "stream %s", stream)
		require.Equal(t, "stop", finish)
	}
}

func TestChatStreamEqualsChatAndReusesTheHistory(t *testing.T) {
	ts := start(t, 1, server.Config{}, nil)
	body := `{"model":"stories260K","messages":[{"role":"system","content":"Tell a story."},{"role":"user","content":[{"type":"text","text":"Once upon a time"}]}],"max_tokens":24,"temperature":0%s}`
	resp, v := post(t, ts, "/v1/chat/completions", fmt.Sprintf(body, ""))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "chat.completion", v["object"])
	msg := choice(v)["message"].(map[string]any)
	require.Equal(t, "assistant", msg["role"])
	answer := msg["content"].(string)
	require.NotEmpty(t, answer)
	// [INST] format: BOS, "[INST] Tell a story.\n\nOnce upon a time [/INST]"
	prompt := v["usage"].(map[string]any)["prompt_tokens"].(float64)
	require.Greater(t, prompt, 10.0)

	sresp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(fmt.Sprintf(body, `,"stream":true`)))
	require.NoError(t, err)
	defer sresp.Body.Close()
	evs := events(t, sresp.Body)
	require.Equal(t, map[string]any{"role": "assistant", "content": ""}, choice(evs[0])["delta"])
	require.Equal(t, answer, text(evs))
	require.Equal(t, "chat.completion.chunk", evs[0]["object"])
}

func TestGetRoutes(t *testing.T) {
	ts := start(t, 2, server.Config{}, nil)
	resp, err := http.Get(ts.URL + "/health")
	require.NoError(t, err)
	v := decodeBody(t, resp)
	require.Equal(t, map[string]any{"status": "ok", "slots_idle": 2.0, "slots_processing": 0.0, "queued": 0.0}, v)

	resp, err = http.Get(ts.URL + "/v1/models")
	require.NoError(t, err)
	v = decodeBody(t, resp)
	require.Equal(t, "list", v["object"])
	require.Equal(t, modelName, v["data"].([]any)[0].(map[string]any)["id"])

	resp, err = http.Get(ts.URL + "/v1/models/" + modelName)
	require.NoError(t, err)
	require.Equal(t, modelName, decodeBody(t, resp)["id"])
}
