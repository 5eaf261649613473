package quant

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Reference vectors from ggml's portable C code (see testdata/ggmlref).
const (
	refN    = 512
	refRows = 5
)

// refInput regenerates row r of the reference inputs (kind 0: weights,
// 1: activations) exactly as testdata/ggmlref/main.c does.
func refInput(kind, r int) []float32 {
	st := uint32(0x9e3779b9) * uint32(2*r+kind+1)
	next := func() uint32 {
		st ^= st << 13
		st ^= st >> 17
		st ^= st << 5
		return st
	}
	x := make([]float32, refN)
	for b := 0; b < refN/32; b++ {
		var e int
		if r == 1 {
			e = int(next()%11) - 6
		} else {
			e = int(next()%3) - 1
		}
		for i := 0; i < 32; i++ {
			var s int32
			for j := 0; j < 4; j++ {
				s += int32(next()) >> 9
			}
			v := float32(math.Ldexp(float64(float32(s)), e-24))
			if r == 2 {
				v = abs32(v) + float32(math.Ldexp(1, e-3))
			}
			if r == 4 {
				u := float32(next()>>8) * (1.0 / (1 << 27))
				v = float32(math.Ldexp(float64(1-u), e))
			}
			if r == 3 && (b == 5 || b >= 8) {
				v = 0
			}
			x[32*b+i] = v
		}
	}
	return x
}

// refHalves regenerates row r of the activations near halves exactly as
// testdata/ggmlref/main.c does.
func refHalves(r int) []float32 {
	st := uint32(0x85ebca6b) * uint32(r+1)
	next := func() uint32 {
		st ^= st << 13
		st ^= st >> 17
		st ^= st << 5
		return st
	}
	x := make([]float32, refN)
	for b := 0; b < refN/32; b++ {
		e := int(next()%21) - 10
		amax := float32(math.Ldexp(1+float64(next()>>8)*0x1p-24, e))
		x[32*b] = amax
		for i := 1; i < 32; i++ {
			x[32*b+i] = (float32(int(next()%254)-127) + 0.5) * (amax / 127)
		}
	}
	return x
}

func readRef(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		require.Len(t, fs, 3)
		_, err := strconv.Atoi(fs[1])
		require.NoError(t, err)
		b, err := hex.DecodeString(fs[2])
		require.NoError(t, err)
		recs[fs[0]+" "+fs[1]] = b
	}
	require.NoError(t, sc.Err())
	return recs
}

// recordsOf reads a reference file and returns its record lookup.
func recordsOf(t *testing.T, path string) func(kind string, r int) []byte {
	recs := readRef(t, path)
	return func(kind string, r int) []byte {
		b, ok := recs[fmt.Sprintf("%s %d", kind, r)]
		require.True(t, ok, "%s: record %s %d missing", path, kind, r)
		return b
	}
}

// zeroBsumsOfEmptyBlocks returns a copy of Q8_K blocks in which the block
// sums of all-zero blocks are zero: ggml leaves them as they were in its
// output buffer, this package clears them.
func zeroBsumsOfEmptyBlocks(b []byte) []byte {
	b = append([]byte(nil), b...)
	for off := 0; off < len(b); off += 292 {
		if binary.LittleEndian.Uint32(b[off:]) == 0 {
			clear(b[off+q8kBsums : off+292])
		}
	}
	return b
}

// TestGGMLReference checks quantisers, activation quantisation, K-quant
// dequantisation and every integer dot product bit for bit against ggml's
// portable C code on the same inputs.
func TestGGMLReference(t *testing.T) {
	rec := recordsOf(t, "testdata/ggml_ref.txt")
	weights := map[string]Type{"q4_0": Q4_0, "q8_0": Q8_0, "q4_K": Q4_K, "q5_K": Q5_K, "q6_K": Q6_K}
	for r := 0; r < refRows; r++ {
		w, x := refInput(0, r), refInput(1, r)
		quantised := map[Type][]byte{}
		for name, typ := range weights {
			nb, _ := RowBytes(typ, refN)
			got := make([]byte, nb)
			require.NoError(t, QuantizeRow(typ, w, got))
			require.Equal(t, hex.EncodeToString(rec(name, r)), hex.EncodeToString(got), "%s row %d", typ, r)
			quantised[typ] = got
		}
		for name, typ := range map[string]Type{"act_q8_0": Q4_0, "act_q8_K": Q6_K} {
			got := make([]byte, ActivationBytes(typ, refN))
			require.NoError(t, QuantizeActivation(typ, x, got))
			want := rec(name, r)
			if name == "act_q8_K" {
				want = zeroBsumsOfEmptyBlocks(want)
			}
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "%s row %d", name, r)
		}
		for name, typ := range map[string]Type{"deq_q4_K": Q4_K, "deq_q5_K": Q5_K} {
			got := make([]float32, refN)
			require.NoError(t, DequantizeRow(typ, quantised[typ], got))
			want := rec(name, r)
			for i := range got {
				require.Equal(t, binary.LittleEndian.Uint32(want[4*i:]), math.Float32bits(got[i]), "%s row %d element %d", name, r, i)
			}
		}
		halves := make([]byte, refN/32*34)
		require.NoError(t, QuantizeRow(Q8_0, refHalves(r), halves))
		require.Equal(t, hex.EncodeToString(rec("act_q8_0_halves", r)), hex.EncodeToString(halves), "activations near halves, row %d", r)
		actName := map[Type]string{Q8_0: "act_q8_0", Q8_K: "act_q8_K"}
		for name, typ := range weights {
			act := rec(actName[VecDotType(typ)], r)
			got := DotRow(typ, quantised[typ], act, nil)
			want := binary.LittleEndian.Uint32(rec("dot_"+name, r))
			require.Equal(t, want, math.Float32bits(got), "%s·%s row %d: got %g want %g",
				typ, VecDotType(typ), r, got, math.Float32frombits(want))
			// Block by block, where the order of the scale products shows.
			blk := rec("blkdot_"+name, r)
			wb, ab := typ.BlockBytes(), VecDotType(typ).BlockBytes()
			for i := 0; i < len(blk)/4; i++ {
				got := DotRow(typ, quantised[typ][i*wb:(i+1)*wb], act[i*ab:(i+1)*ab], nil)
				want := binary.LittleEndian.Uint32(blk[4*i:])
				require.Equal(t, want, math.Float32bits(got), "%s·%s row %d block %d: got %g want %g",
					typ, VecDotType(typ), r, i, got, math.Float32frombits(want))
			}
		}
	}
}

// TestGGMLAVX2Reference checks QuantizeQ8_0Lanes and the lane-order dot
// products bit for bit against ggml's AVX2 code on the same inputs, whole
// rows and block by block.
func TestGGMLAVX2Reference(t *testing.T) {
	rec := recordsOf(t, "testdata/ggml_avx2_ref.txt")
	portable := recordsOf(t, "testdata/ggml_ref.txt")
	lanes := map[string]func(w, a []byte, n int) float32{"q4_0": DotQ4_0Q8_0Lanes, "q8_0": DotQ8_0Q8_0Lanes}
	for r := 0; r < refRows; r++ {
		halves := make([]byte, refN/32*34)
		require.NoError(t, QuantizeQ8_0Lanes(refHalves(r), halves))
		require.Equal(t, hex.EncodeToString(rec("act_q8_0_halves", r)), hex.EncodeToString(halves), "activations near halves, row %d", r)
		require.NotEqual(t, portable("act_q8_0_halves", r), halves, "row %d: the portable quantiser rounds these differently", r)
		act := make([]byte, refN/32*34)
		require.NoError(t, QuantizeQ8_0Lanes(refInput(1, r), act))
		require.Equal(t, hex.EncodeToString(rec("act_q8_0", r)), hex.EncodeToString(act), "activations row %d", r)
		for name, typ := range map[string]Type{"q4_0": Q4_0, "q8_0": Q8_0} {
			nb, _ := RowBytes(typ, refN)
			w := make([]byte, nb)
			require.NoError(t, QuantizeRow(typ, refInput(0, r), w))
			want := binary.LittleEndian.Uint32(rec("dot_"+name, r))
			got := lanes[name](w, act, refN)
			require.Equal(t, want, math.Float32bits(got), "%s row %d: got %g want %g", typ, r, got, math.Float32frombits(want))
			blk, wb := rec("blkdot_"+name, r), typ.BlockBytes()
			for i := 0; i < refN/32; i++ {
				got := lanes[name](w[i*wb:(i+1)*wb], act[34*i:34*i+34], 32)
				want := binary.LittleEndian.Uint32(blk[4*i:])
				require.Equal(t, want, math.Float32bits(got), "%s row %d block %d: got %g want %g",
					typ, r, i, got, math.Float32frombits(want))
			}
		}
	}
}
