// Package server is an OpenAI-compatible HTTP server over the engine:
// GET /health, GET /v1/models, POST /v1/completions and POST
// /v1/chat/completions, streamed as server-sent events with "stream":
// true, as llama.cpp's llama-server and Ollama offer.
//
// Requests run in slots, one engine session (and KV cache) each, one
// request at a time per slot. Requests beyond the slots wait in a bounded
// queue; when it is full the answer is 503 with Retry-After. A request
// gets the idle slot whose cache shares the longest prefix with its prompt
// (a chat's history), and only the rest is prefilled. A client that goes
// away, or a request whose deadline passes, stops its generation at the
// next token and frees the slot.
//
// Every error is OpenAI's JSON error object with a fitting status: 400
// for malformed JSON, wrongly typed fields and values out of range, 401
// for a missing or wrong API key, 404 for unknown routes and models, 405,
// 413 for bodies over the limit, 503 when the queue is full, 500 for a
// panic (recovered and logged, never shown as a stack to the client).
//
//	srv, _ := server.New(server.Config{Model: "stories", Tokenizer: tok, Template: tmpl, Sessions: sessions})
//	http.ListenAndServe("127.0.0.1:8080", srv)
package server
