package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// api is the shape of one endpoint's answers.
type api struct {
	idPrefix, object, chunkObject string
	chat                          bool
}

var (
	completionAPI = api{"cmpl-", "text_completion", "text_completion", false}
	chatAPI       = api{"chatcmpl-", "chat.completion", "chat.completion.chunk", true}
)

func (s *Server) completions(x *exchange, r *http.Request) {
	var req completionRequest
	p, e := s.readRequest(x, r, &req, &req.commonFields)
	if e != nil {
		writeError(x, e)
		return
	}
	prompt, e := req.prompt()
	if e != nil {
		writeError(x, e)
		return
	}
	// The same tokens as 'mrun run -p': BOS, no special-token parsing.
	ids := s.cfg.Tokenizer.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true})
	s.serve(x, r, completionAPI, ids, p)
}

func (s *Server) chatCompletions(x *exchange, r *http.Request) {
	var req chatRequest
	p, e := s.readRequest(x, r, &req, &req.commonFields)
	if e != nil {
		writeError(x, e)
		return
	}
	msgs, e := req.messages()
	if e != nil {
		writeError(x, e)
		return
	}
	text, err := s.cfg.Template.Render(msgs, true)
	if err != nil {
		writeError(x, badRequest("messages", "%v", err))
		return
	}
	// The template writes special tokens as text, BOS usually among them.
	ids := s.cfg.Tokenizer.Encode(text, tokenizer.EncodeOptions{
		AddSpecial: !s.cfg.Template.StartsWithBOS(text), ParseSpecial: true})
	s.serve(x, r, chatAPI, ids, p)
}

// readRequest decodes the body (reading it under a deadline) and checks
// the model and the shared fields.
func (s *Server) readRequest(x *exchange, r *http.Request, req any, common *commonFields) (params, *apiError) {
	rc := http.NewResponseController(x)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) // unsupported only by test recorders
	if e := decode(r, req); e != nil {
		// The rest of the body may never come: keep the deadline, so that
		// the server's drain of it after the answer cannot hang, and close.
		x.Header().Set("Connection", "close")
		return params{}, e
	}
	_ = rc.SetReadDeadline(time.Time{})
	if e := s.checkModel(common.Model); e != nil {
		return params{}, e
	}
	return common.params()
}

// outcome is a finished generation.
type outcome struct {
	text   string
	finish string // "stop" or "length", as OpenAI's finish_reason
	stats  engine.Stats
}

// serve runs a prompt in a slot and answers, as one JSON object or as a
// stream of events.
func (s *Server) serve(x *exchange, r *http.Request, a api, ids []int32, p params) {
	if len(ids) == 0 {
		writeError(x, badRequest("", "the prompt is empty and the model adds no BOS token"))
		return
	}
	if len(ids) > s.context {
		e := badRequest("", "the prompt has %d tokens, more than the context of %d (raise --ctx or shorten it)", len(ids), s.context)
		code := "context_length_exceeded"
		e.Code = &code
		writeError(x, e)
		return
	}
	ctx := r.Context()
	sl, err := s.pool.acquire(ctx, ids)
	if err != nil {
		writeError(x, s.failure(ctx, err))
		return
	}
	defer s.pool.release(sl)
	rp := reply{api: a, id: a.idPrefix + randomID(), model: s.cfg.Model, created: time.Now().Unix()}
	var out outcome
	if p.stream {
		out, err = s.stream(ctx, x, sl, rp, ids, p)
	} else {
		out, err = s.generate(ctx, sl, ids, p, nil)
	}
	x.tokens = len(ids) + out.stats.Generated
	x.detail = fmt.Sprintf("slot %d, prompt %d tokens (%d cached), %.1f tokens/s", sl.id, len(ids),
		len(ids)-out.stats.PromptTokens, out.stats.GenTPS())
	if p.stream {
		return // the stream reported its own end
	}
	if err != nil {
		writeError(x, s.failure(ctx, err))
		return
	}
	writeJSON(x, http.StatusOK, rp.response(out, len(ids)))
}

// failure maps a generation error to what the client sees.
func (s *Server) failure(ctx context.Context, err error) *apiError {
	var e *apiError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return newError(http.StatusGatewayTimeout, serverError, "timeout", "the request took longer than the server's limit of %s", s.cfg.RequestTimeout)
	case ctx.Err() != nil:
		// The client is gone; the status only reaches the log (nginx's 499).
		return newError(499, invalidRequest, "client_closed_request", "the client closed the request")
	}
	return newError(http.StatusInternalServerError, serverError, "", "generation failed: %v", err)
}

var errStopString = errors.New("stop string reached")

// generate runs ids in the slot, handing text to onText (may be nil) as
// it comes; ctx ending stops it at the next token.
func (s *Server) generate(ctx context.Context, sl *slot, ids []int32, p params, onText func(string) error) (out outcome, err error) {
	defer func() {
		if v := recover(); v != nil {
			sl.session.Reset() // a step that panicked may have left anything in the cache
			panic(v)
		}
	}()
	var text strings.Builder
	filter := stopFilter{stops: p.stops, send: func(t string) error {
		text.WriteString(t)
		if onText != nil {
			return onText(t)
		}
		return nil
	}}
	maxTokens := p.maxTokens
	if maxTokens == 0 {
		maxTokens = s.context
	}
	stopped := false
	st, err := engine.GenerateTokens(sl.session, s.cfg.Tokenizer, ids, engine.GenerateOptions{
		MaxTokens: maxTokens,
		Sampling:  p.sampling,
		OnText: func(t string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			hit, err := filter.write(t)
			if hit && err == nil {
				stopped, err = true, errStopString
			}
			return err
		},
	})
	out.stats = st
	if errors.Is(err, errStopString) {
		err = nil
	}
	if err == nil && !stopped {
		err = filter.flush()
	}
	out.text = text.String()
	out.finish = "length"
	if stopped || st.StopReason == engine.StopEOS {
		out.finish = "stop"
	}
	return out, err
}

// stream answers with server-sent events: a chunk per piece of text, one
// with the finish reason, the usage if asked for, then [DONE]. An error
// after the first event can only be reported as an event.
func (s *Server) stream(ctx context.Context, x *exchange, sl *slot, rp reply, ids []int32, p params) (outcome, error) {
	h := x.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not buffer the stream
	x.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x)
	send := func(v any) error {
		b, err := json.Marshal(v)
		if err == nil {
			_, err = fmt.Fprintf(x, "data: %s\n\n", b)
		}
		if err == nil {
			err = rc.Flush()
		}
		return err
	}
	if rp.chat {
		if err := send(rp.chunk(map[string]any{"role": "assistant", "content": ""}, nil)); err != nil {
			return outcome{}, err
		}
	}
	out, err := s.generate(ctx, sl, ids, p, func(t string) error {
		return send(rp.chunk(rp.delta(t), nil))
	})
	if err != nil {
		if ctx.Err() == nil { // the client is still there to read why
			_ = send(map[string]any{"error": s.failure(ctx, err)})
		}
		x.status = s.failure(ctx, err).status
		return out, err
	}
	err = send(rp.chunk(rp.delta(""), &out.finish))
	if err == nil && p.includeUsage {
		usageChunk := rp.chunk(nil, nil)
		usageChunk["choices"], usageChunk["usage"] = []any{}, usage(len(ids), out.stats.Generated)
		err = send(usageChunk)
	}
	if err == nil {
		_, err = fmt.Fprint(x, "data: [DONE]\n\n")
		_ = rc.Flush()
	}
	return out, err
}

func (a api) delta(text string) map[string]any {
	if !a.chat {
		return map[string]any{"text": text}
	}
	if text == "" {
		return map[string]any{}
	}
	return map[string]any{"content": text}
}

// reply is the identity of one answer, shared by all its chunks.
type reply struct {
	api
	id, model string
	created   int64
}

// chunk is one streamed event; finish is nil until the last.
func (rp reply) chunk(delta map[string]any, finish *string) map[string]any {
	choice := map[string]any{"index": 0, "logprobs": nil, "finish_reason": finish}
	if rp.chat {
		choice["delta"] = delta
	} else {
		choice["text"] = delta["text"]
	}
	return map[string]any{"id": rp.id, "object": rp.chunkObject, "created": rp.created, "model": rp.model, "choices": []any{choice}}
}

func (rp reply) response(out outcome, promptTokens int) map[string]any {
	choice := map[string]any{"index": 0, "logprobs": nil, "finish_reason": out.finish}
	if rp.chat {
		choice["message"] = map[string]any{"role": "assistant", "content": out.text}
	} else {
		choice["text"] = out.text
	}
	return map[string]any{"id": rp.id, "object": rp.object, "created": rp.created, "model": rp.model,
		"choices": []any{choice}, "usage": usage(promptTokens, out.stats.Generated)}
}

func usage(prompt, completion int) map[string]int {
	return map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
