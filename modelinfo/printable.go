package modelinfo

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s with what a terminal would act on instead of show
// written as Go escapes: control characters (C0 such as ESC, which starts
// escape sequences, and BEL; DEL; C1 such as CSI) as \x1b, bidirectional
// overrides as \u202e, and bytes that are not UTF-8 as \xff. Strings from
// a model file (its name, tensor names, token pieces) pass through it
// before they reach a terminal, so a file cannot recolour, retitle, move
// the cursor or reorder what is printed. Other text is unchanged.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unprintable(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unprintable(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unprintable says a terminal acts on r instead of showing it.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// printableJSON escapes what encoding/json leaves raw in strings but a
// terminal acts on: it escapes C0 controls (the newlines left are its
// indentation), but not DEL, C1 controls or bidirectional overrides. Those
// can only occur inside JSON strings, where \uXXXX means the same
// character, so the document keeps its meaning.
func printableJSON(doc []byte) []byte {
	if !strings.ContainsFunc(string(doc), jsonUnprintable) {
		return doc
	}
	out := make([]byte, 0, len(doc)+32)
	for _, r := range string(doc) {
		if jsonUnprintable(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

func jsonUnprintable(r rune) bool { return r >= 0x7f && unprintable(r) }
