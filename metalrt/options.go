package metalrt

import (
	"fmt"
	"strconv"
	"strings"
)

// Options configure a Runtime.
type Options struct {
	// MaxBufferLength caps each no-copy buffer over the weights below the
	// device's maximum buffer length; 0 means the device's. Tests set it to
	// make a small model span several buffers.
	MaxBufferLength int64
}

// mslVersion is MTLLanguageVersion for an MSL version "major.minor":
// major<<16 | minor ("3.1" is 196609). darwinkit's constants stop at 2.4.
func mslVersion(v string) (uint, error) {
	major, minor, ok := strings.Cut(v, ".")
	ma, err1 := strconv.ParseUint(major, 10, 16)
	mi, err2 := strconv.ParseUint(minor, 10, 16)
	if !ok || err1 != nil || err2 != nil || ma < 1 {
		return 0, fmt.Errorf("metalrt: MSL version %q: want major.minor, e.g. 3.1", v)
	}
	return uint(ma<<16 | mi), nil
}
