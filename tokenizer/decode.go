package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// render is the text Decode gives one token: pieces with "▁" as spaces, a
// byte token's byte, a user-defined token's text, nothing for the rest
// (control, unknown, unused, undefined).
func (t *Tokenizer) render(id int32) string {
	switch t.types[id] {
	case Normal:
		return strings.ReplaceAll(t.tokens[id], spaceMark, " ")
	case Byte:
		b, _ := parseByteToken(t.tokens[id]) // checked by New
		return string([]byte{b})
	case UserDefined:
		return t.tokens[id]
	}
	return ""
}

// Decode returns the text of ids; see the package comment for the rules.
// Control and unknown tokens render as nothing, ids out of range as U+FFFD.
// The result is the exact bytes of the pieces, so it may hold invalid UTF-8
// when byte tokens do.
func (t *Tokenizer) Decode(ids []int32) string {
	return t.decode(ids, false)
}

// DecodeSpecial is Decode with control and unknown tokens rendered as their
// text, so that DecodeSpecial(Encode(s, ParseSpecial)) gives back s.
func (t *Tokenizer) DecodeSpecial(ids []int32) string {
	return t.decode(ids, true)
}

func (t *Tokenizer) decode(ids []int32, special bool) string {
	var b []byte
	strip := t.addSpacePrefix
	for _, id := range ids {
		b = t.appendText(b, id, special, &strip)
	}
	return string(b)
}

// appendText appends the text of id to dst. *strip says whether a leading
// space is still to be removed, undoing Encode's space prefix: it is set at
// the start and after every special token, and cleared by any other token.
func (t *Tokenizer) appendText(dst []byte, id int32, special bool, strip *bool) []byte {
	if !t.valid(id) {
		*strip = false
		return append(dst, string(utf8.RuneError)...)
	}
	if t.types[id].special() {
		*strip = t.addSpacePrefix
		if special || t.types[id] == UserDefined {
			return append(dst, t.tokens[id]...)
		}
		return dst
	}
	s := t.rendered[id]
	if *strip {
		s = strings.TrimPrefix(s, " ")
	}
	*strip = false
	return append(dst, s...)
}

// StreamDecoder turns ids into text one at a time, as they are generated,
// emitting only complete UTF-8: a character split over byte tokens comes out
// whole once its last byte arrives. Invalid bytes come out as U+FFFD, one per
// byte, as soon as they are known to be invalid. The concatenated output of
// Next and Flush equals Decode of the same ids whenever that is valid UTF-8,
// and string([]rune(Decode(ids))) in general.
//
// To continue after a prompt without repeating it, feed the prompt ids
// through Next first and discard what it returns.
type StreamDecoder struct {
	t       *Tokenizer
	strip   bool
	pending []byte // an incomplete UTF-8 sequence, at most 3 bytes
}

// NewStreamDecoder returns a decoder at the start of a sequence.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t, strip: t.addSpacePrefix}
}

// Next adds one id and returns the text that is now complete.
func (d *StreamDecoder) Next(id int32) string {
	d.pending = d.t.appendText(d.pending, id, false, &d.strip)
	return d.drain(false)
}

// Flush returns what is held back, with each byte of an unfinished
// sequence as U+FFFD, and leaves the decoder empty.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

func (d *StreamDecoder) drain(final bool) string {
	p := d.pending
	var out []byte
	i := 0
	for i < len(p) {
		if !final && !utf8.FullRune(p[i:]) {
			break // a valid prefix: wait for the rest
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, string(utf8.RuneError)...)
		} else {
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	d.pending = append(d.pending[:0], p[i:]...)
	return string(out)
}
