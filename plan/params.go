package plan

import (
	"bytes"
	"encoding/binary"
)

// Params is a contract's parameter struct. Every field is a 4-byte int32 or
// float32, so the struct's little-endian bytes match a C struct of the same
// fields, which is how GPU runtimes pass it.
type Params interface{ params() }

// Encode returns the little-endian bytes of a parameter struct.
func Encode(p Params) []byte {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, p); err != nil {
		panic("plan: parameter struct with a non-fixed-size field: " + err.Error())
	}
	return b.Bytes()
}

// StepParams is the content of the Step buffer, written before every step.
type StepParams struct {
	Pos0  int32 // position of the step's first token
	N     int32 // tokens in the step
	KVLen int32 // cache positions valid after the step: Pos0 + N
	_     int32
}

// EmbedParams: table [Vocab, Dim] rows picked for N tokens.
type EmbedParams struct{ Dim, Vocab, N int32 }

// NormParams: N rows of Dim.
type NormParams struct {
	Dim, N int32
	Eps    float32
}

// MatParams: y[N,Rows] = x[N,Cols] · W[Rows,Cols]ᵀ (gate_up: Rows is the
// hidden size of each of the two weights).
type MatParams struct{ Rows, Cols, N int32 }

// QKVParams: three projections of one input; K and V share RowsKV.
type QKVParams struct{ RowsQ, RowsKV, Cols, N int32 }

// RopeParams: N rows of Heads×HeadDim, the first Dims of each head rotated.
type RopeParams struct {
	Heads, HeadDim, Dims, N int32
	Base, FreqScale         float32
}

// KVParams: N rows of Width stored at positions Pos0.. of caches holding
// Capacity positions.
type KVParams struct{ Width, N, Capacity int32 }

// RopeKVParams: rope of q (Heads) and k (KVHeads) and the cache store.
type RopeKVParams struct {
	Heads, KVHeads, HeadDim, Dims, N, Capacity int32
	Base, FreqScale                            float32
}

// AttnParams: causal GQA attention of N queries over KVLen cache rows.
type AttnParams struct {
	Heads, KVHeads, HeadDim, N, Capacity, Window int32
	Scale                                        float32
}

// EltParams: an elementwise op over Count values.
type EltParams struct{ Count int32 }

func (StepParams) params()   {}
func (EmbedParams) params()  {}
func (NormParams) params()   {}
func (MatParams) params()    {}
func (QKVParams) params()    {}
func (RopeParams) params()   {}
func (KVParams) params()     {}
func (RopeKVParams) params() {}
func (AttnParams) params()   {}
func (EltParams) params()    {}
