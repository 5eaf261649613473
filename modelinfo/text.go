package modelinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON prints the report as indented JSON, with every character a
// terminal would act on escaped.
func (i *Info) WriteJSON(w io.Writer) error {
	doc, err := json.MarshalIndent(i, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(printableJSON(doc), '\n'))
	return err
}

// WriteText prints the report for people, optionally with the tensor list.
// Values from the file are escaped where a terminal would act on them.
func (i *Info) WriteText(w io.Writer, withTensors bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, Printable(fmt.Sprintf(format, args...)))
	}
	if i.Path != "" {
		row("file", "%s", i.Path)
	}
	row("size", "%s (%d bytes)", FormatBytes(i.FileSize), i.FileSize)
	row("format", "GGUF v%d, %d metadata keys, %d tensors, alignment %d, data at byte %d",
		i.GGUFVersion, i.MetadataCount, i.TensorCount, i.Alignment, i.DataOffset)
	row("architecture", "%s", orNone(i.Architecture))
	row("name", "%s", orNone(i.Name))
	if ft := i.FileType; ft != nil {
		row("file type", "%d %s", ft.ID, ft.Name)
	}
	row("parameters", "%s (%d)", FormatCount(i.Parameters), i.Parameters)
	row("quantization", "%s", i.QuantMix)
	types := make([]string, len(i.TensorTypes))
	for k, tc := range i.TensorTypes {
		types[k] = fmt.Sprintf("%d %s (%s)", tc.Count, tc.Type, FormatBytes(tc.Bytes))
	}
	row("tensor types", "%s", orNone(strings.Join(types, ", ")))
	if h := i.Hyperparameters; h != nil {
		row("embedding", "%d", h.Dim)
		row("blocks", "%d", h.Layers)
		gqa := "no GQA"
		if h.KVHeads < h.Heads {
			gqa = fmt.Sprintf("GQA %d:1", h.Heads/h.KVHeads)
		}
		row("heads", "%d, kv %d (%s), head dim %d", h.Heads, h.KVHeads, gqa, h.HeadDim)
		row("ffn", "%d", h.FFN)
		row("vocab", "%d", h.Vocab)
		row("context", "%d", h.Context)
		row("rope", "%d dims, base %s, scale %s", h.RopeDims, fmtPlain(h.RopeBase), fmtPlain(h.RopeScale))
		row("rms eps", "%s", fmtFloat(h.Eps))
		if h.Window > 0 {
			row("sliding window", "%d", h.Window)
		}
		if h.TiedEmbeddings {
			row("output", "tied to token_embd.weight")
		}
	} else {
		row("hyperparameters", "unavailable: %s", i.HyperparametersError)
	}
	if t := i.Tokenizer; t != nil {
		pre := ""
		if t.Pre != "" {
			pre = ", pre " + t.Pre
		}
		row("tokenizer", "%s%s, %d tokens", t.Model, pre, t.VocabSize)
		addBOS := strconv.FormatBool(t.AddBOS)
		if t.AddBOSDefault {
			addBOS += " (default)"
		}
		row("special", "bos %s, eos %s, unk %s; add bos %s, add eos %t",
			fmtID(t.BOS, t.BOSPiece), fmtID(t.EOS, t.EOSPiece), fmtID(t.UNK, t.UNKPiece), addBOS, t.AddEOS)
	} else {
		row("tokenizer", "none")
	}
	if m := i.Memory; m != nil {
		row("memory", "mrun run at context %d, prefill steps of %d (planned):", m.Context, m.PrefillChunk)
		row("  weights", "%s (mapped, not copied)", FormatBytes(m.Weights))
		row("  kv cache", "%s F32, %s F16 (--kv f16)", FormatBytes(m.KVCacheF32), FormatBytes(m.KVCacheF16))
		row("  activations", "%s (decode and prefill arenas, logits)", FormatBytes(m.Activations))
		row("  total", "%s with F32 KV, %s with F16 KV", FormatBytes(m.TotalF32), FormatBytes(m.TotalF16))
		if m.FullContext != m.Context {
			row("  full context", "--ctx %d: kv cache %s F32, %s F16", m.FullContext, FormatBytes(m.FullKVCacheF32), FormatBytes(m.FullKVCacheF16))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !withTensors || len(i.Tensors) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tname\ttype\tshape\tbytes\toffset")
	for k, t := range i.Tensors {
		dims := make([]string, len(t.Dims))
		for d, x := range t.Dims {
			dims[d] = strconv.FormatInt(x, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\n", k, Printable(t.Name), t.Type, strings.Join(dims, " x "), t.Bytes, t.Offset)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func fmtFloat(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }

// fmtPlain writes without an exponent: rope bases read "1000000".
func fmtPlain(f float32) string { return strconv.FormatFloat(float64(f), 'f', -1, 32) }

func fmtID(id int64, piece string) string {
	if id < 0 {
		return "none"
	}
	if piece == "" {
		return strconv.FormatInt(id, 10)
	}
	return fmt.Sprintf("%d %q", id, piece)
}
