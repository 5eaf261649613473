// Package chattemplate turns a conversation into a model's prompt text by
// rendering the Jinja chat template a GGUF file carries
// (tokenizer.chat_template), as Hugging Face's apply_chat_template and
// llama.cpp's --jinja do, with github.com/ardanlabs/jinja.
//
//	t, _ := chattemplate.FromGGUF(file, tok)
//	prompt, err := t.Render([]chattemplate.Message{{Role: "user", Content: "Hi"}}, true)
//
// A template sees messages (role and content), bos_token, eos_token,
// add_generation_prompt and raise_exception, whose message becomes
// Render's error (a conversation the model's template refuses, such as
// roles that do not alternate). A model without a template gets the
// Mistral/Llama-2 instruction format (Default): BOS, then each user turn
// as "[INST] text [/INST]" and each answer followed by EOS; a system
// message is put before the first user message, separated by a blank
// line.
//
// The rendered text holds special tokens as text ("<s>", "</s>"): encode
// it with ParseSpecial, and without adding a second BOS when it already
// starts with one (StartsWithBOS).
package chattemplate
