package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStopFilter(t *testing.T) {
	for _, c := range []struct {
		stops   []string
		chunks  []string
		sent    []string
		stopped bool
	}{
		{nil, []string{"a", "b"}, []string{"a", "b"}, false},
		{[]string{"END"}, []string{"one E", "N", "D two"}, []string{"one "}, true},
		{[]string{"END"}, []string{"one E", "Nx"}, []string{"one ", "ENx"}, false},
		{[]string{"\n\n", "Bob:"}, []string{"Hi\n", "Bo", "b: x"}, []string{"Hi", "\n"}, true},
		{[]string{"ab", "b"}, []string{"xab"}, []string{"x"}, true},
		{[]string{"é!"}, []string{"café", "?"}, []string{"caf", "é?"}, false},
	} {
		var sent []string
		f := stopFilter{stops: c.stops, send: func(s string) error { sent = append(sent, s); return nil }}
		stopped := false
		for _, ch := range c.chunks {
			hit, err := f.write(ch)
			require.NoError(t, err)
			if hit {
				stopped = true
				break
			}
		}
		if !stopped {
			require.NoError(t, f.flush())
		}
		require.Equal(t, c.stopped, stopped, "%q", c.chunks)
		require.Equal(t, c.sent, sent, "%q", c.chunks)
		require.False(t, strings.Contains(strings.Join(sent, ""), "END"))
	}
}
