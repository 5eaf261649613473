package graphviz

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNoDot is returned by RenderSVG when Graphviz's dot is not on PATH.
var ErrNoDot = errors.New("the dot command of Graphviz is not installed: apt-get install graphviz / brew install graphviz")

// RenderSVG runs Graphviz's dot on DOT text and returns the SVG.
func RenderSVG(dotSrc []byte) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, ErrNoDot
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dotSrc)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return nil, fmt.Errorf("dot -Tsvg: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("dot -Tsvg: %w", err)
	}
	return out.Bytes(), nil
}
