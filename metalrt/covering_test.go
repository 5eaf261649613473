package metalrt

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	page = 16 << 10
	gib  = 1 << 30
)

// mistral7BQ4_0 lays out the tensors of a Mistral-7B Q4_0 file (output
// Q6_K, norms F32) contiguously from a header of headerBytes, each
// aligned to 32 bytes as GGUF does. It returns the extents and the file
// size (about 4.1 GB).
func mistral7BQ4_0(headerBytes int64) ([]Extent, int64) {
	const dim, ffn, kv, vocab, layers = 4096, 14336, 1024, 32000, 32
	q40 := func(rows, cols int64) int64 { return rows * cols / 32 * 18 }
	off := headerBytes
	var ts []Extent
	add := func(name string, n int64) {
		off = pageUp(off, 32)
		ts = append(ts, Extent{Name: name, Offset: off, Length: n})
		off += n
	}
	add("token_embd.weight", q40(vocab, dim))
	for i := range layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", 4*dim)
		add(p+"attn_q.weight", q40(dim, dim))
		add(p+"attn_k.weight", q40(kv, dim))
		add(p+"attn_v.weight", q40(kv, dim))
		add(p+"attn_output.weight", q40(dim, dim))
		add(p+"ffn_norm.weight", 4*dim)
		add(p+"ffn_gate.weight", q40(ffn, dim))
		add(p+"ffn_up.weight", q40(ffn, dim))
		add(p+"ffn_down.weight", q40(dim, ffn))
	}
	add("output_norm.weight", 4*dim)
	add("output.weight", vocab*dim/256*210)
	return ts, off
}

// checkCovering asserts the covering's invariants: page-aligned windows of
// whole pages no longer than maxLen, sorted, no gap from 0 to the end of
// the file, and every tensor inside one window at the offset Locate says.
func checkCovering(t *testing.T, c Covering, fileSize, maxLen int64, ts []Extent) {
	t.Helper()
	require.NotEmpty(t, c)
	assert.Zero(t, c[0].Offset, "the first window starts the file")
	assert.Equal(t, pageUp(fileSize, page), c[len(c)-1].End(), "the last window ends at the file's last page")
	for i, w := range c {
		assert.Zero(t, w.Offset%page, "window %d offset", i)
		assert.Zero(t, w.Length%page, "window %d length", i)
		assert.Positive(t, w.Length, "window %d", i)
		assert.LessOrEqual(t, w.Length, maxLen, "window %d", i)
		if i > 0 {
			assert.Greater(t, w.Offset, c[i-1].Offset, "window %d starts after window %d", i, i-1)
			assert.Greater(t, w.End(), c[i-1].End(), "window %d ends after window %d", i, i-1)
			assert.LessOrEqual(t, w.Offset, c[i-1].End(), "gap before window %d", i)
		}
	}
	for _, x := range ts {
		b, off, err := c.Locate(x.Offset, x.Length)
		require.NoError(t, err, x.Name)
		w := c[b]
		assert.Equal(t, x.Offset, w.Offset+off, x.Name)
		assert.LessOrEqual(t, x.End(), w.End(), "%s ends inside window %d", x.Name, b)
	}
}

func TestCoverMistral7B(t *testing.T) {
	ts, size := mistral7BQ4_0(724_000)
	require.Greater(t, size, int64(4_000_000_000))
	c, err := Cover(size, page, gib, ts)
	require.NoError(t, err)
	checkCovering(t, c, size, gib, ts)
	// 4.1 GB in windows of at most 1 GiB: four, the fewest possible.
	assert.Len(t, c, int((size+gib-1)/gib))
	assert.Len(t, c, 4)
	var overlap int64
	for i := 1; i < len(c); i++ {
		overlap += c[i-1].End() - c[i].Offset
	}
	// Each overlap is less than the largest tensor (33 MB ffn matrices).
	assert.Less(t, overlap, int64(len(c)-1)*33_030_144+int64(len(c)-1)*page)
}

func TestCoverMaxLenNotWholePages(t *testing.T) {
	ts, size := mistral7BQ4_0(724_000)
	maxLen := int64(gib + 1000) // a device limit need not be whole pages
	c, err := Cover(size, page, maxLen, ts)
	require.NoError(t, err)
	checkCovering(t, c, size, maxLen, ts)
}

func TestCoverSmallFileIsOneWindow(t *testing.T) {
	ts := []Extent{{"a", 100, 1000}, {"b", 1120, 5000}}
	c, err := Cover(7000, page, gib, ts)
	require.NoError(t, err)
	assert.Equal(t, Covering{{0, page}}, c)
	b, off, err := c.Locate(1120, 5000)
	require.NoError(t, err)
	assert.Equal(t, 0, b)
	assert.Equal(t, int64(1120), off)
}

func TestCoverTensorAtBoundary(t *testing.T) {
	max := int64(4 * page)
	// a ends exactly at the first window's end, b starts there and fills
	// the second window exactly.
	ts := []Extent{{"a", 0, max}, {"b", max, max}, {"c", 2 * max, page}}
	size := 2*max + page
	c, err := Cover(size, page, max, ts)
	require.NoError(t, err)
	checkCovering(t, c, size, max, ts)
	// No straddling tensor: the windows touch without overlapping.
	assert.Equal(t, Covering{{0, max}, {max, max}, {2 * max, page}}, c)
}

func TestCoverStraddlingTensorStartsNextWindowAtItsPage(t *testing.T) {
	max := int64(4 * page)
	ts := []Extent{{"a", 0, 3*page + 100}, {"b", 3*page + 128, 2 * page}}
	size := ts[1].End()
	c, err := Cover(size, page, max, ts)
	require.NoError(t, err)
	checkCovering(t, c, size, max, ts)
	assert.Equal(t, Covering{{0, max}, {3 * page, 3 * page}}, c)
	b, off, err := c.Locate(ts[1].Offset, ts[1].Length)
	require.NoError(t, err)
	assert.Equal(t, 1, b)
	assert.Equal(t, int64(128), off)
}

func TestCoverTrailingBytesWithoutTensors(t *testing.T) {
	max := int64(2 * page)
	ts := []Extent{{"a", 0, 100}}
	size := int64(5*page + 1)
	c, err := Cover(size, page, max, ts)
	require.NoError(t, err)
	checkCovering(t, c, size, max, ts)
	assert.Len(t, c, 3)
}

func TestCoverErrors(t *testing.T) {
	max := int64(4 * page)
	for _, tc := range []struct {
		name      string
		size, pg  int64
		max       int64
		ts        []Extent
		wantError string
	}{
		{"tensor larger than max", 10 * page, page, max, []Extent{{"blk.0.ffn_up.weight", page, 5 * page}}, "tensor blk.0.ffn_up.weight is 81920 bytes"},
		{"tensor fits only unaligned", 10 * page, page, max, []Extent{{"big", 100, 4 * page}}, "tensor big is 65536 bytes (65636 from the start of its page)"},
		{"tensor outside file", 2 * page, page, max, []Extent{{"x", page, 2 * page}}, "tensor x (32768 bytes at offset 16384) is not inside the 32768-byte file"},
		{"negative offset", 2 * page, page, max, []Extent{{"x", -1, 2}}, "tensor x"},
		{"page not power of two", page, 3000, max, nil, "page size 3000"},
		{"max below a page", page, page, page - 1, nil, "less than one page"},
		{"empty file", 0, page, max, nil, "file size 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cover(tc.size, tc.pg, tc.max, tc.ts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantError)
		})
	}
}

func TestLocateOutside(t *testing.T) {
	c := Covering{{0, 4 * page}, {3 * page, 4 * page}}
	_, _, err := c.Locate(2*page, 3*page) // from window 0 into window 1's tail
	require.ErrorContains(t, err, "lie in no single buffer")
	_, _, err = c.Locate(7*page, 2)
	require.ErrorContains(t, err, "lie in no single buffer")
	_, _, err = c.Locate(-1, 2)
	require.ErrorContains(t, err, "bad range")
	b, off, err := c.Locate(3*page+5, page)
	require.NoError(t, err)
	assert.Equal(t, 1, b, "overlap: the later window")
	assert.Equal(t, int64(5), off)
	_, _, err = Covering(nil).Locate(0, 1)
	require.ErrorContains(t, err, "no windows")
}
