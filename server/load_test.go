package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/server"
)

// TestLoad sends 50 streaming requests at once to 4 slots with a queue of
// 40: 6 are refused with 503, every 5th admitted one is cancelled after
// its first chunk, the others must stream exactly their greedy text. Then
// goroutines and heap must return to where they were.
func TestLoad(t *testing.T) {
	const clients, slots, queue = 50, 4, 40
	var gated atomic.Bool
	gate := make(chan struct{})
	ts := start(t, slots, server.Config{MaxQueue: queue}, func() {
		if gated.Load() {
			<-gate
		}
	})
	prompts := []string{"Once upon a time", "The little dog", "Lily and Ben went", "One day, a bird"}
	want := map[string]string{}
	for _, p := range prompts {
		_, v := post(t, ts, "/v1/completions", fmt.Sprintf(`{"prompt":%q,"max_tokens":24,"temperature":0}`, p))
		want[p] = choice(v)["text"].(string)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	http.DefaultClient.CloseIdleConnections()
	baseGoroutines, baseHeap := runtime.NumGoroutine(), heap()

	gated.Store(true)
	var refused, admitted atomic.Int64
	type result struct {
		prompt, text string
		cancelled    bool
		done         time.Time
	}
	results := make(chan result, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			p := prompts[i%len(prompts)]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := fmt.Sprintf(`{"prompt":%q,"max_tokens":24,"temperature":0,"stream":true}`, p)
			req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				refused.Add(1)
				return
			}
			n := admitted.Add(1)
			var text strings.Builder
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				data, _ := strings.CutPrefix(sc.Text(), "data: ")
				if data == "[DONE]" {
					results <- result{prompt: p, text: text.String(), done: time.Now()}
					return
				}
				if data == "" {
					continue
				}
				var ev struct{ Choices []struct{ Text string } }
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					t.Errorf("event %q: %v", data, err)
					return
				}
				text.WriteString(ev.Choices[0].Text)
				if n%5 == 0 {
					cancel()
					results <- result{prompt: p, cancelled: true}
					return
				}
			}
			t.Errorf("stream of %q ended without [DONE]: %v", p, sc.Err())
		})
	}
	waitHealth(t, ts.URL, func(h map[string]any) bool {
		return h["slots_processing"] == float64(slots) && h["queued"] == float64(queue) && refused.Load() == clients-slots-queue
	})
	released := time.Now()
	close(gate)
	wg.Wait()
	close(results)

	var latencies []time.Duration
	var cancelled int
	var last time.Time
	for r := range results {
		if r.cancelled {
			cancelled++
			continue
		}
		require.Equal(t, want[r.prompt], r.text, r.prompt)
		latencies = append(latencies, r.done.Sub(released))
		if r.done.After(last) {
			last = r.done
		}
	}
	require.Equal(t, int64(clients-slots-queue), refused.Load())
	require.Equal(t, (slots+queue)/5, cancelled)
	require.Len(t, latencies, slots+queue-cancelled)
	slices.Sort(latencies)
	t.Logf("%d streams done in %s (%.0f requests/s) after the gate opened; latency p50 %s, p99 %s; %d refused, %d cancelled",
		len(latencies), last.Sub(released).Round(time.Millisecond), float64(len(latencies))/last.Sub(released).Seconds(),
		latencies[len(latencies)/2].Round(time.Millisecond), latencies[len(latencies)*99/100].Round(time.Millisecond), refused.Load(), cancelled)

	client.CloseIdleConnections()
	waitHealth(t, ts.URL, func(h map[string]any) bool { return h["slots_idle"] == float64(slots) })
	http.DefaultClient.CloseIdleConnections()
	var goroutines int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if goroutines = runtime.NumGoroutine(); goroutines <= baseGoroutines {
			break
		}
	}
	require.LessOrEqual(t, goroutines, baseGoroutines, "goroutines back to their baseline")
	require.Less(t, heap(), baseHeap+8<<20, "heap back near its baseline (%d bytes before)", baseHeap)
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
