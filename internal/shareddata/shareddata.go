package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the absolute path of the shared folder, or "" when it
// cannot be found. It looks for ../shared beside the module root.
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(filepath.Dir(dir), "shared")
			if st, err := os.Stat(shared); err == nil && st.IsDir() {
				return shared
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Path joins elems below the shared folder. It skips the test when the
// folder is absent, and fails it under CI or when the named file is missing.
func Path(t testing.TB, elems ...string) string {
	t.Helper()
	root := Root()
	if root == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("../shared (test models) is missing beside the repository; CI must provide it")
		}
		t.Skip("../shared (test models) is absent beside the repository; skipping a test that needs it")
	}
	p := filepath.Join(append([]string{root}, elems...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test file missing: %v", err)
	}
	return p
}
