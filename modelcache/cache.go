package modelcache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// EnvDir is the environment variable that overrides the cache folder.
const EnvDir = "MRUN_CACHE"

// partialSuffix marks a download in progress.
const partialSuffix = ".partial"

// Cache is a folder of models.
type Cache struct{ Dir string }

// Default is the cache at $MRUN_CACHE, else $XDG_CACHE_HOME/metalgraph
// (on Linux ~/.cache/metalgraph when XDG_CACHE_HOME is unset).
func Default() (Cache, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return Cache{Dir: d}, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return Cache{}, fmt.Errorf("no cache folder: %w (set %s)", err, EnvDir)
	}
	return Cache{Dir: filepath.Join(base, "metalgraph")}, nil
}

// Ref is a model's name: a repository and a file in it.
type Ref struct {
	Repo string // OWNER/REPO
	File string // path in the repository, ending in .gguf
}

func (r Ref) String() string { return r.Repo + "/" + r.File }

var component = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseRef reads "OWNER/REPO/FILE.gguf", refusing names that could leave
// the cache folder.
func ParseRef(name string) (Ref, error) {
	parts := strings.Split(name, "/")
	if len(parts) < 3 || !strings.HasSuffix(name, ".gguf") {
		return Ref{}, fmt.Errorf("model name %q: want OWNER/REPO/FILE.gguf", name)
	}
	for _, p := range parts {
		if !component.MatchString(p) || strings.Contains(p, "..") {
			return Ref{}, fmt.Errorf("model name %q: %q is not a valid name part (letters, digits, '.', '_', '-')", name, p)
		}
	}
	return Ref{Repo: parts[0] + "/" + parts[1], File: strings.Join(parts[2:], "/")}, nil
}

// Path is where the model r is (or will be) cached.
func (c Cache) Path(r Ref) string {
	return filepath.Join(c.Dir, filepath.FromSlash(r.String()))
}

// Lookup returns the path of a cached model, or false.
func (c Cache) Lookup(name string) (string, bool) {
	r, err := ParseRef(name)
	if err != nil {
		return "", false
	}
	p := c.Path(r)
	st, err := os.Stat(p)
	return p, err == nil && st.Mode().IsRegular()
}

// Entry is a cached model.
type Entry struct {
	Name string
	Size int64
	Path string
}

// List returns the complete models in the cache, by name; an absent cache
// is empty.
func (c Cache) List() ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(c.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == c.Dir {
				return filepath.SkipAll
			}
			return err
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(path, ".gguf") {
			return nil
		}
		rel, err := filepath.Rel(c.Dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, Entry{Name: filepath.ToSlash(rel), Size: info.Size(), Path: path})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the model cache: %w", err)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
