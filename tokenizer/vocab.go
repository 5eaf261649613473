package tokenizer

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// TokenType is a token's kind, with GGUF's numbering
// (tokenizer.ggml.token_type).
type TokenType int32

// Token types as stored in GGUF files.
const (
	Undefined   TokenType = 0
	Normal      TokenType = 1
	Unknown     TokenType = 2
	Control     TokenType = 3
	UserDefined TokenType = 4
	Unused      TokenType = 5
	Byte        TokenType = 6
)

func (t TokenType) String() string {
	switch t {
	case Undefined:
		return "undefined"
	case Normal:
		return "normal"
	case Unknown:
		return "unknown"
	case Control:
		return "control"
	case UserDefined:
		return "user-defined"
	case Unused:
		return "unused"
	case Byte:
		return "byte"
	}
	return fmt.Sprintf("TokenType(%d)", int32(t))
}

// special reports whether Encode can split a token of this type out of the
// text before merging (and so whether the next fragment gets a space prefix).
func (t TokenType) special() bool {
	return t == Control || t == UserDefined || t == Unknown
}

// Vocab is a SentencePiece vocabulary as a GGUF file stores it. Token ids
// are indexes into Tokens.
type Vocab struct {
	Tokens []string
	Scores []float32   // merge priority per token, higher first; nil means all 0
	Types  []TokenType // nil means all Normal
	// BOS, EOS and UNK are token ids, -1 for none.
	BOS, EOS, UNK int32
	// AddBOS and AddEOS say whether Encode with AddSpecial adds BOS / EOS.
	AddBOS, AddEOS bool
	// AddSpacePrefix adds one space before text that starts the input or
	// follows a special token (SentencePiece's dummy prefix).
	AddSpacePrefix bool
	// EOG lists end-of-generation ids besides EOS (such as an end-of-turn
	// token); may be nil.
	EOG []int32
}

// eogTexts are token texts that end generation whatever the metadata says;
// llama.cpp recognises the same ones and treats them as control tokens.
var eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"}

// Tokenizer encodes text to token ids and back. It is immutable and safe
// for concurrent use.
type Tokenizer struct {
	tokens []string
	scores []float32
	types  []TokenType
	ids    map[string]int32 // piece text -> id; empty texts are left out

	byteToken [256]int32 // byte fallback: id for each byte value
	specials  []int32    // special-type ids, longest text first
	rendered  []string   // Decode's text per id (without special rendering)
	eog       map[int32]bool

	bos, eos, unk                  int32
	addBOS, addEOS, addSpacePrefix bool
}

// New checks v and builds a tokenizer from it. The slices are copied.
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: vocabulary is empty")
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("tokenizer: vocabulary has %d tokens, more than int32 ids can hold", n)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	t := &Tokenizer{
		tokens:         slices.Clone(v.Tokens),
		scores:         make([]float32, n),
		types:          make([]TokenType, n),
		ids:            make(map[string]int32, n),
		eog:            map[int32]bool{},
		bos:            v.BOS,
		eos:            v.EOS,
		unk:            v.UNK,
		addBOS:         v.AddBOS,
		addEOS:         v.AddEOS,
		addSpacePrefix: v.AddSpacePrefix,
	}
	copy(t.scores, v.Scores)
	for i := range t.types {
		t.types[i] = Normal
	}
	copy(t.types, v.Types)

	for i, s := range t.tokens {
		id := int32(i)
		if t.types[i] < Undefined || t.types[i] > Byte {
			return nil, fmt.Errorf("tokenizer: token %d (%q) has invalid type %d", id, s, int32(t.types[i]))
		}
		if f := t.scores[i]; math.IsNaN(float64(f)) {
			return nil, fmt.Errorf("tokenizer: token %d (%q) has a NaN score", id, s)
		}
		if t.types[i] == Byte {
			if _, ok := parseByteToken(s); !ok {
				return nil, fmt.Errorf("tokenizer: byte token %d has text %q, want <0xHH>", id, s)
			}
		}
		if s == "" {
			continue // can never match text
		}
		if prev, dup := t.ids[s]; dup {
			return nil, fmt.Errorf("tokenizer: tokens %d and %d have the same text %q", prev, id, s)
		}
		t.ids[s] = id
	}

	for _, c := range []struct {
		name string
		id   int32
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}} {
		if c.id < -1 || c.id >= int32(n) {
			return nil, fmt.Errorf("tokenizer: %s id %d is out of range [0, %d) (use -1 for none)", c.name, c.id, n)
		}
	}
	if v.AddBOS && v.BOS < 0 {
		return nil, fmt.Errorf("tokenizer: AddBOS is set but the vocabulary has no BOS token")
	}
	if v.AddEOS && v.EOS < 0 {
		return nil, fmt.Errorf("tokenizer: AddEOS is set but the vocabulary has no EOS token")
	}

	if v.EOS >= 0 {
		t.eog[v.EOS] = true
	}
	for _, id := range v.EOG {
		if id < 0 || id >= int32(n) {
			return nil, fmt.Errorf("tokenizer: end-of-generation id %d is out of range [0, %d)", id, n)
		}
		t.eog[id] = true
	}
	for _, s := range eogTexts {
		if id, ok := t.ids[s]; ok {
			t.eog[id] = true
			t.types[id] = Control
		}
	}

	if err := t.buildByteFallback(); err != nil {
		return nil, err
	}
	for i, typ := range t.types {
		if typ.special() && t.tokens[i] != "" {
			t.specials = append(t.specials, int32(i))
		}
	}
	slices.SortStableFunc(t.specials, func(a, b int32) int {
		return cmp.Compare(len(t.tokens[b]), len(t.tokens[a]))
	})
	t.rendered = make([]string, n)
	for i := range t.rendered {
		t.rendered[i] = t.render(int32(i))
	}
	return t, nil
}

// buildByteFallback finds the token for each byte value: "<0xXX>", else the
// one-byte text itself, else UNK.
func (t *Tokenizer) buildByteFallback() error {
	const hex = "0123456789ABCDEF"
	for b := 0; b < 256; b++ {
		name := string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
		if id, ok := t.ids[name]; ok {
			t.byteToken[b] = id
		} else if id, ok := t.ids[string([]byte{byte(b)})]; ok {
			t.byteToken[b] = id
		} else if t.unk >= 0 {
			t.byteToken[b] = t.unk
		} else {
			return fmt.Errorf("tokenizer: no token for byte 0x%02X (no %s token, no unknown token)", b, name)
		}
	}
	return nil
}

// parseByteToken reads the byte of a "<0xHH>" token text.
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(s[3])
	lo, ok2 := hexDigit(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, -1 if none.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, -1 if none.
func (t *Tokenizer) EOS() int32 { return t.eos }

// UNK returns the unknown-token id, -1 if none.
func (t *Tokenizer) UNK() int32 { return t.unk }

// AddBOS reports whether Encode with AddSpecial starts with BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with AddSpecial ends with EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// AddSpacePrefix reports whether text fragments get a leading space.
func (t *Tokenizer) AddSpacePrefix() bool { return t.addSpacePrefix }

// IsEOG reports whether id ends generation: EOS, the vocabulary's extra
// end-of-generation ids, or a token whose text is a known end-of-turn
// marker such as "<|end|>".
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// Piece returns the token's text as stored in the vocabulary ("▁Hello",
// "<0x0A>", "<s>"), or "" for an id out of range.
func (t *Tokenizer) Piece(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// Type returns the token's type, Undefined for an id out of range.
func (t *Tokenizer) Type(id int32) TokenType {
	if !t.valid(id) {
		return Undefined
	}
	return t.types[id]
}

// Score returns the token's merge score, 0 for an id out of range.
func (t *Tokenizer) Score(id int32) float32 {
	if !t.valid(id) {
		return 0
	}
	return t.scores[id]
}

// ID returns the id of the token whose text is exactly piece.
func (t *Tokenizer) ID(piece string) (int32, bool) {
	id, ok := t.ids[piece]
	return id, ok
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }
