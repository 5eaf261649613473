package server_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/server"
)

// TestSlowClientsAreCutOff: a client that sends its headers or its body a
// trickle at a time (slowloris) loses the connection once the header or
// body timeout passes, instead of holding it, and the server still serves.
func TestSlowClientsAreCutOff(t *testing.T) {
	const limit = 200 * time.Millisecond
	hs := server.NewHTTPServer("127.0.0.1:0", newServer(t, 1, server.Config{BodyTimeout: limit}, nil), limit)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = hs.Serve(ln) }() // returns when Close runs
	t.Cleanup(func() { hs.Close() })

	cases := map[string]struct {
		partial string
		status  int // the answer, or 0 for a hang-up
	}{
		"headers": {"POST /v1/completions HTTP/1.1\r\nHost: x\r\n", 0},
		"body": {"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Content-Length: 1000\r\n\r\n{\"prompt\": \"Once", http.StatusRequestTimeout},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			start := time.Now()
			_, err = conn.Write([]byte(c.partial))
			require.NoError(t, err)
			// The client stalls; the server must answer with an error or
			// hang up soon after the limit, well before this deadline.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err == nil {
				resp.Body.Close()
				require.Equal(t, c.status, resp.StatusCode)
			} else {
				require.Zero(t, c.status, "want an answer, got %v", err)
				var ne net.Error
				require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server held the stalled connection: %v", err)
			}
			require.GreaterOrEqual(t, time.Since(start), limit/2)
		})
	}
	// Served as usual afterwards.
	resp, err := http.Get("http://" + ln.Addr().String() + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
