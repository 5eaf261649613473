package engine

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

func TestParseMemAvailable(t *testing.T) {
	meminfo := "MemTotal:       24532100 kB\nMemFree:        23012344 kB\nMemAvailable:   21286912 kB\nBuffers:            2048 kB\n"
	n, ok := parseMemAvailable(strings.NewReader(meminfo))
	require.True(t, ok)
	assert.Equal(t, int64(21286912*1024), n)
	for _, bad := range []string{
		"MemTotal: 24532100 kB\n",                // an old kernel without the line
		"MemAvailable: lots kB\n",                // not a number
		"MemAvailable: 21286912 MB\n",            // not the unit the kernel writes
		"MemAvailable: 9223372036854775807 kB\n", // would overflow in bytes
	} {
		_, ok := parseMemAvailable(strings.NewReader(bad))
		assert.False(t, ok, bad)
	}
}

func TestCheckMemory(t *testing.T) {
	const gib = 1 << 30
	cases := []struct {
		name     string
		ctx      int
		kvType   quant.Type
		compiled bool // a program exists: the KV cache is allocated already
		kv       int64
		arena    int64
		limit    int64
		want     string
	}{
		{"fits", 4096, quant.F32, false, 2 * gib, gib / 2, 3 * gib, ""},
		{"the cache is too large", 1_000_000, quant.F32, false, 1_000_000 * 131072, gib, 20 * gib,
			"the KV cache and activations for --ctx 1000000 need 123.1 GiB but 20.0 GiB is available; try --ctx 131072 or --kv f16"},
		{"an F16 cache", 1_000_000, quant.F16, false, 1_000_000 * 65536, gib, 20 * gib,
			"the KV cache and activations for --ctx 1000000 need 62.0 GiB but 20.0 GiB is available; try --ctx 262144"},
		{"the cache is allocated already", 4096, quant.F32, true, 2 * gib, gib / 2, gib, ""},
		{"activations alone are too large", 4096, quant.F32, true, 2 * gib, 2 * gib, gib,
			"the activations for --ctx 4096 need 2.0 GiB but 1.0 GiB is available"},
		{"the sum overflows", 1 << 24, quant.F32, false, math.MaxInt64 - 10, 100, 20 * gib,
			"the KV cache and activations for --ctx 16777216 need more bytes than a 64-bit size can count"},
		{"a size overflowed before", 1 << 24, quant.F32, false, -4096, 100, 20 * gib,
			"the KV cache and activations for --ctx 16777216 need more bytes than a 64-bit size can count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Session{cfg: mistral.Config{Context: c.ctx, KVType: c.kvType}, opts: Options{MemoryLimit: c.limit}}
			if c.compiled {
				s.programs.put(1, nil)
			}
			p := &plan.Plan{}
			p.Buffers[plan.KV].Size = c.kv
			p.Buffers[plan.Arena].Size = c.arena
			p.Buffers[plan.Weights].Size = 100 * gib // mapped, never counted
			err := s.checkMemory(p)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, c.want)
		})
	}
}

// TestSuggestedContextFits: the suggestion is the largest power of two
// whose cache fits beside the activations.
func TestSuggestedContextFits(t *testing.T) {
	const perPosition, other, available = 131072, 1 << 30, 20 << 30
	ctx := fittingContext(1_000_000*perPosition, other, 1_000_000, available)
	assert.LessOrEqual(t, int64(ctx)*perPosition+other, int64(available))
	assert.Greater(t, int64(2*ctx)*perPosition+other, int64(available))
	assert.Zero(t, fittingContext(1000*perPosition, available, 1000, available), "nothing fits beside the activations")
}
