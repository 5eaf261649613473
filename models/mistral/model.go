package mistral

import (
	"github.com/metalgraph/metalgraph/gguf"
)

// Model is an opened model file: its metadata, hyperparameters and bound
// weights. The weights are views into the file's memory map.
type Model struct {
	File    *gguf.File
	Config  Config
	Weights *Weights
}

// Open maps a GGUF file and binds its weights.
func Open(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// FromFile reads the config and binds the weights of an opened file.
func FromFile(f *gguf.File) (*Model, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	w, err := BindWeights(f, c)
	if err != nil {
		return nil, err
	}
	return &Model{File: f, Config: c, Weights: w}, nil
}

// Close unmaps the file.
func (m *Model) Close() error { return m.File.Close() }
