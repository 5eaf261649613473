package synth

import (
	"fmt"
	"io"
	"os"
)

// WriteSparse writes the model o describes with every weight zero: the
// header is written and the file is extended to its full size without
// writing the data, so on file systems with sparse files a 4 GB
// Mistral-7B layout costs a few kilobytes of disk and no time. It serves
// planning and layout tests of large shapes, which need the real tensor
// names, types and offsets but not the values.
func WriteSparse(path string, o Options) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("synth: %w", cerr)
		}
	}()
	gw, _, err := writeHeader(f, o)
	if err != nil {
		return err
	}
	header, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	var end int64
	for _, t := range gw.Tensors() {
		end = max(end, t.Offset+t.Size)
	}
	const alignment = 32 // the writer's default; synth sets no general.alignment
	end = (end + alignment - 1) / alignment * alignment
	if err := f.Truncate(header + end); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}
