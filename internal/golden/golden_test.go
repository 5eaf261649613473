package golden

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMaxAbsDiff(t *testing.T) {
	require.Equal(t, float32(0.5), MaxAbsDiff([]float32{1, 2, 3}, []float32{1, 2.5, 2.75}))
	require.Equal(t, float32(0), MaxAbsDiff(nil, nil))
	// A row cut short must not pass as its prefix.
	require.True(t, math.IsInf(float64(MaxAbsDiff([]float32{1, 2}, []float32{1})), 1))
	require.True(t, math.IsInf(float64(MaxAbsDiff(nil, []float32{0})), 1))
}

func TestArgmaxMargin(t *testing.T) {
	xs := []float32{1, 7, 3, 7, 6.5}
	require.Equal(t, 1, Argmax(xs), "first of equal maxima")
	require.Equal(t, float32(0), Margin(xs))
	require.Equal(t, float32(0.5), Margin([]float32{1, 7, 6.5}))
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.txt")
	text := "model m.gguf\nn_vocab 3\nkv_type f32\nprompt_ids 1 5\n" +
		"logits 0 0.5 -1 2\nlogits 1 1 2 3\n" +
		"greedy 0 2 \"a \\\"b\\\"\\x01\" 3\ngreedy_ids 2\ngreedy_text \"x\\ny\"\n"
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	r, err := Read(path)
	require.NoError(t, err)
	require.Equal(t, "m.gguf", r.Model)
	require.Equal(t, 3, r.Vocab)
	require.Equal(t, []int32{1, 5}, r.PromptIDs)
	require.Equal(t, []float32{0.5, -1, 2}, r.Logits[0])
	require.Equal(t, []Step{{ID: 2, Piece: "a \"b\"\x01", Logit: 3}}, r.Greedy)
	require.Equal(t, "x\ny", r.GreedyText)

	require.NoError(t, os.WriteFile(path, []byte("logits 0 1 x\n"), 0o644))
	_, err = Read(path)
	require.ErrorContains(t, err, ":1: logits")
}
