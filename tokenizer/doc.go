// Package tokenizer implements the SentencePiece-BPE tokenizer that Llama
// and Mistral GGUF files declare as tokenizer.ggml.model = "llama", with the
// same results as llama.cpp's SPM tokenizer.
//
//	f, err := gguf.Open("model.gguf")
//	if err != nil { ... }
//	defer f.Close()
//	tok, err := tokenizer.FromGGUF(f)
//	if err != nil { ... }
//	ids := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
//	// ids: BOS, "▁Once", "▁upon", "▁a", "▁time" (1 403 407 261 378 for stories260K)
//	text := tok.Decode(ids) // "Once upon a time"
//
// # Encoding
//
// The text is first split around special tokens: user-defined tokens always,
// control and unknown tokens only with EncodeOptions.ParseSpecial; longer
// token texts are matched first. Each remaining text fragment that starts the
// input or follows a special token gets one leading space when the vocabulary
// asks for it (AddSpacePrefix, the default for llama vocabularies). Spaces
// become "▁" (U+2581), the fragment is split into UTF-8 characters, and
// adjacent symbols are merged, best vocabulary score first (ties: leftmost
// first), for as long as the merged text is a vocabulary piece. A final
// symbol that is not a piece falls back to one <0xXX> token per byte (or a
// token whose text is that single byte, or the unknown token).
//
// # Decoding
//
// Decode maps "▁" back to spaces and byte tokens back to raw bytes. Control
// and unknown tokens render as nothing (DecodeSpecial renders their text);
// user-defined tokens render as their text. Where Encode added the leading
// space (the start of the sequence, or right after a control, user-defined
// or unknown token, when AddSpacePrefix is set), Decode removes one leading
// space from the next token's text, so Decode(Encode(s)) == s for plain text
// s, with or without BOS. StreamDecoder gives the same text token by token,
// holding back incomplete UTF-8 sequences.
package tokenizer
