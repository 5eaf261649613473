package tokenizer

import "strings"

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS (and EOS) where the vocabulary asks for them.
	AddSpecial bool
	// ParseSpecial recognises the texts of control and unknown tokens, such
	// as "<s>", in the input. User-defined tokens are always recognised.
	ParseSpecial bool
}

// spaceMark is SentencePiece's visible space, U+2581.
const spaceMark = "\u2581"

// fragment is a piece of the input: raw text, or a special token (id >= 0).
type fragment struct {
	id   int32
	text string
}

// Encode returns the token ids of text.
func (t *Tokenizer) Encode(text string, o EncodeOptions) []int32 {
	var out []int32
	if o.AddSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	prevSpecial := true // the first fragment gets the space prefix too
	for _, f := range t.partition(text, o.ParseSpecial) {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			continue
		}
		s := strings.ReplaceAll(f.text, " ", spaceMark)
		if t.addSpacePrefix && prevSpecial {
			s = spaceMark + s
		}
		out = t.merge(s, out)
		prevSpecial = false
	}
	if o.AddSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// partition splits text around special tokens, longest token texts first.
// Control and unknown tokens count only when parseSpecial is set.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{id: -1, text: text}}
	for _, id := range t.specials {
		if !parseSpecial && t.types[id] != UserDefined {
			continue
		}
		pat := t.tokens[id]
		if !strings.Contains(text, pat) {
			continue // no fragment can hold it either
		}
		var next []fragment
		for _, f := range frags {
			if f.id >= 0 {
				next = append(next, f)
				continue
			}
			s := f.text
			for {
				i := strings.Index(s, pat)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{id: -1, text: s[:i]})
				}
				next = append(next, fragment{id: id})
				s = s[i+len(pat):]
			}
			if s != "" {
				next = append(next, fragment{id: -1, text: s})
			}
		}
		frags = next
	}
	return frags
}
