package runtimecheck

import (
	"os"
	"os/exec"
	"testing"
)

// GXX finds g++, which the runtimes' emulator and contract tests compile
// the kernels with. Without it a test fails under CI, which must run it,
// saying why CI needs it, and skips elsewhere saying what goes unchecked.
func GXX(t testing.TB, needed, unchecked string) string {
	t.Helper()
	gxx, err := exec.LookPath("g++")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("g++ not found: " + needed)
		}
		t.Skip("g++ not found: " + unchecked)
	}
	return gxx
}
