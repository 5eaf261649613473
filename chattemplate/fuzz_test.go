package chattemplate

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzTemplate: a chat template comes from the model file, so it is
// untrusted input. Compiling and rendering any template gives a result or
// an error, never a panic.
func FuzzTemplate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jinja"))
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), "Hello")
	}
	for _, src := range []string{
		"", "{{", "{% for %}", "{% if messages %}{{ messages[5].content }}{% endif %}",
		"{{ raise_exception('no') }}", "{{ messages | length }}{{ 1/0 }}", "{% set x = messages[0]['role'] %}{{ x.upper() }}",
		"{{ bos_token + messages[0].content * 3 }}", "{{ (messages|first).content[::-1] }}",
	} {
		f.Add(src, "Hi")
	}
	f.Fuzz(func(t *testing.T, src, content string) {
		tmpl, err := New(src, "<s>", "</s>")
		if err != nil {
			return
		}
		_, _ = tmpl.Render([]Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: content}}, true)
	})
}
