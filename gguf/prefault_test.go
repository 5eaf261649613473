package gguf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrefaultReportsProgressToTheEnd(t *testing.T) {
	f := &File{data: make([]byte, prefaultChunk+5000)}
	var calls [][2]int64
	require.NoError(t, f.Prefault(func(done, total int64) { calls = append(calls, [2]int64{done, total}) }))
	require.Equal(t, [][2]int64{{prefaultChunk, prefaultChunk + 5000}, {prefaultChunk + 5000, prefaultChunk + 5000}}, calls)
	require.NoError(t, (&File{}).Prefault(nil), "an empty file is fine")
}
