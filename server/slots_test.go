package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/server"
)

// health polls /health until cond holds (or fails after 10 s).
func waitHealth(t *testing.T, url string, cond func(h map[string]any) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		resp, err := http.Get(url + "/health")
		require.NoError(t, err)
		if cond(decodeBody(t, resp)) {
			return
		}
	}
	t.Fatal("the server never reached the expected state")
}

func TestAFullQueueAnswers503AndQueuedRequestsRunInTurn(t *testing.T) {
	gate := make(chan struct{})
	ts := start(t, 1, server.Config{MaxQueue: 1}, func() { <-gate })
	first := make(chan int)
	go func() {
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"Once upon a time","max_tokens":32,"temperature":0}`))
		require.NoError(t, err)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	waitHealth(t, ts.URL, func(h map[string]any) bool { return h["slots_processing"] == 1.0 })
	queued := make(chan map[string]any)
	go func() {
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"Once upon a time","max_tokens":32,"temperature":0}`))
		require.NoError(t, err)
		queued <- decodeBody(t, resp)
	}()
	waitHealth(t, ts.URL, func(h map[string]any) bool { return h["queued"] == 1.0 })

	resp, v := post(t, ts, "/v1/completions", `{"prompt":"x"}`)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, "server_busy", v["error"].(map[string]any)["code"])

	close(gate)
	require.Equal(t, http.StatusOK, <-first)
	require.Equal(t, greedy(t), choice(<-queued)["text"])
}

func TestADisconnectedClientFreesItsSlotWithinAStep(t *testing.T) {
	var logs syncBuffer
	var steps atomic.Int64
	ts := start(t, 1, server.Config{Log: log.New(&logs, "", 0)}, func() {
		steps.Add(1)
		time.Sleep(20 * time.Millisecond) // 200 tokens would take 4 s
	})
	for _, stream := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		body := `{"prompt":"Once upon a time","max_tokens":200,"stream":` + strconv.FormatBool(stream) + `}`
		req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(body))
		require.NoError(t, err)
		go func() {
			for steps.Load() < 3 { // the prefill and two tokens
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err = http.DefaultClient.Do(req)
		if !stream {
			require.ErrorIs(t, err, context.Canceled)
		}
		waitHealth(t, ts.URL, func(h map[string]any) bool { return h["slots_idle"] == 1.0 })
		steps.Store(0)
	}
	// Each cancelled request logged 499 with a few of its 200 tokens.
	re := regexp.MustCompile(`POST /v1/completions 499 (\d+) tokens`)
	got := re.FindAllStringSubmatch(logs.String(), -1)
	require.Len(t, got, 2, logs.String())
	for _, m := range got {
		n, _ := strconv.Atoi(m[1])
		require.Less(t, n, 5+20, "generation stopped soon after the client left: %s", m[0])
	}
}

func TestARequestPastItsDeadlineGets504(t *testing.T) {
	ts := start(t, 1, server.Config{RequestTimeout: 100 * time.Millisecond}, func() { time.Sleep(10 * time.Millisecond) })
	resp, v := post(t, ts, "/v1/completions", `{"prompt":"Once upon a time","max_tokens":200}`)
	require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	require.Equal(t, "the request took longer than the server's limit of 100ms", v["error"].(map[string]any)["message"])
}

func TestAPanicIsA500AndTheServerGoesOn(t *testing.T) {
	var logs syncBuffer
	var broken atomic.Bool
	broken.Store(true)
	ts := start(t, 1, server.Config{Log: log.New(&logs, "", 0)}, func() {
		if broken.Load() {
			panic("kernel exploded")
		}
	})
	resp, v := post(t, ts, "/v1/completions", `{"prompt":"Once upon a time","max_tokens":4}`)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, map[string]any{"message": "internal error (logged by the server)", "type": "server_error", "param": nil, "code": nil}, v["error"])
	require.Contains(t, logs.String(), "panic serving POST /v1/completions: kernel exploded")
	require.NotContains(t, v["error"].(map[string]any)["message"], "goroutine")

	broken.Store(false)
	resp, v = post(t, ts, "/v1/completions", `{"prompt":"Once upon a time","max_tokens":32,"temperature":0}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, greedy(t), choice(v)["text"])
}

func TestAChatReusesItsCachedHistory(t *testing.T) {
	var logs syncBuffer
	ts := start(t, 2, server.Config{Log: log.New(&logs, "", 0), Verbose: true}, nil)
	turn := `{"messages":[{"role":"user","content":"Once upon a time"}%s],"max_tokens":8,"temperature":0}`
	_, v := post(t, ts, "/v1/chat/completions", fmt.Sprintf(turn, ""))
	answer := choice(v)["message"].(map[string]any)["content"].(string)
	// Another conversation takes the other slot, leaving the first's cache.
	post(t, ts, "/v1/completions", `{"prompt":"The cat sat","max_tokens":4}`)
	next := `,{"role":"assistant","content":` + strconv.Quote(answer) + `},{"role":"user","content":"And then?"}`
	_, v = post(t, ts, "/v1/chat/completions", fmt.Sprintf(turn, next))
	prompt := int(v["usage"].(map[string]any)["prompt_tokens"].(float64))

	re := regexp.MustCompile(`slot (\d), prompt (\d+) tokens \((\d+) cached\)`)
	got := re.FindAllStringSubmatch(logs.String(), -1)
	require.Len(t, got, 3, logs.String())
	require.Equal(t, got[0][1], got[2][1], "the second turn went to the first turn's slot")
	require.NotEqual(t, got[0][1], got[1][1])
	require.Equal(t, strconv.Itoa(prompt), got[2][2])
	cached, _ := strconv.Atoi(got[2][3])
	first, _ := strconv.Atoi(got[0][2])
	require.GreaterOrEqual(t, cached, first, "at least the first turn's prompt is not prefilled again")
}

func TestARequestLeavingTheQueueFreesItsPlace(t *testing.T) {
	gate := make(chan struct{})
	ts := start(t, 1, server.Config{MaxQueue: 1}, func() { <-gate })
	defer close(gate)
	go http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x","max_tokens":2}`))
	waitHealth(t, ts.URL, func(h map[string]any) bool { return h["slots_processing"] == 1.0 })
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(`{"prompt":"x"}`))
	require.NoError(t, err)
	failed := make(chan error)
	go func() {
		_, err := http.DefaultClient.Do(req)
		failed <- err
	}()
	waitHealth(t, ts.URL, func(h map[string]any) bool { return h["queued"] == 1.0 })
	cancel()
	require.ErrorIs(t, <-failed, context.Canceled)
	waitHealth(t, ts.URL, func(h map[string]any) bool { return h["queued"] == 0.0 })
}
