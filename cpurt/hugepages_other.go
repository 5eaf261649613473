//go:build !linux

package cpurt

// adviseHugePages is Linux's advice; elsewhere the system decides.
func adviseHugePages([]byte) {}
