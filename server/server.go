package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/metalgraph/metalgraph/chattemplate"
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// Config describes what a server serves and its limits.
type Config struct {
	// Model is the name /v1/models lists and requests may name.
	Model     string
	Tokenizer *tokenizer.Tokenizer
	Template  *chattemplate.Template
	// Sessions are the slots, one request at a time each; the server is
	// their only user from New on.
	Sessions []*engine.Session
	// MaxQueue is how many requests may wait for a slot (0: 4 per slot).
	MaxQueue int
	// APIKey, when set, is required as "Authorization: Bearer KEY" on /v1/.
	APIKey string
	// MaxBodyBytes limits request bodies (0: DefaultMaxBody).
	MaxBodyBytes int64
	// RequestTimeout ends a request's generation when it passes (0: none).
	RequestTimeout time.Duration
	// BodyTimeout bounds reading a request body (0: DefaultBodyTimeout),
	// so that a client trickling bytes (slowloris) cannot hold a slot of
	// the queue; NewHTTPServer bounds the headers likewise.
	BodyTimeout time.Duration
	// Log gets one line per request (nil: none); Verbose adds the prompt
	// sizes, the prefix reused and the speeds.
	Log     *log.Logger
	Verbose bool
}

// DefaultMaxBody is the default limit on request bodies.
const DefaultMaxBody = 1 << 20

// Default limits on slow clients: a request body must arrive within
// DefaultBodyTimeout, headers within DefaultHeaderTimeout, and an idle
// keep-alive connection closes after DefaultIdleTimeout.
const (
	DefaultBodyTimeout   = 30 * time.Second
	DefaultHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout   = 120 * time.Second
)

// Server is an http.Handler serving the OpenAI API.
type Server struct {
	cfg     Config
	pool    *pool
	context int // each slot's context in tokens
	created int64
	log     *log.Logger
	// inflight counts requests being served, for Wait.
	inflight sync.WaitGroup
}

// New checks cfg and prepares the slots.
func New(cfg Config) (*Server, error) {
	switch {
	case len(cfg.Sessions) == 0:
		return nil, errors.New("server: no sessions to serve with")
	case cfg.Tokenizer == nil || cfg.Template == nil:
		return nil, errors.New("server: a tokenizer and a chat template are required")
	case cfg.Model == "":
		return nil, errors.New("server: the model needs a name")
	case cfg.MaxQueue < 0 || cfg.MaxBodyBytes < 0 || cfg.RequestTimeout < 0 || cfg.BodyTimeout < 0:
		return nil, errors.New("server: limits must not be negative")
	}
	if cfg.MaxQueue == 0 {
		cfg.MaxQueue = 4 * len(cfg.Sessions)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBody
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	lg := cfg.Log
	if lg == nil {
		lg = log.New(io.Discard, "", 0)
	}
	return &Server{cfg: cfg, pool: newPool(cfg.Sessions, cfg.MaxQueue), context: cfg.Sessions[0].Config().Context,
		created: time.Now().Unix(), log: lg}, nil
}

// NewHTTPServer wraps h with timeouts against slow and idle clients:
// headers must arrive within header (0: DefaultHeaderTimeout). It sets no
// write timeout: a stream lasts as long as its generation.
func NewHTTPServer(addr string, h http.Handler, header time.Duration) *http.Server {
	if header <= 0 {
		header = DefaultHeaderTimeout
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: header,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// exchange is one request being served: the response writer that
// remembers what was sent, and what the log line reports.
type exchange struct {
	http.ResponseWriter
	status     int
	tokens     int    // prompt + generated
	detail     string // for --verbose
	sentHeader bool
}

func (x *exchange) WriteHeader(code int) {
	if !x.sentHeader {
		x.status, x.sentHeader = code, true
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if !x.sentHeader {
		x.WriteHeader(http.StatusOK)
	}
	return x.ResponseWriter.Write(b)
}

func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// ServeHTTP routes a request, recovering from any panic: the client gets
// a 500 (if nothing was sent yet) and the log the stack.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	start := time.Now()
	x := &exchange{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.log.Printf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			if !x.sentHeader {
				writeError(x, newError(http.StatusInternalServerError, serverError, "", "internal error (logged by the server)"))
			}
		}
		line := fmt.Sprintf("%s %s %d %d tokens %s", r.Method, r.URL.Path, x.status, x.tokens, time.Since(start).Round(time.Microsecond))
		if s.cfg.Verbose && x.detail != "" {
			line += " · " + x.detail
		}
		s.log.Print(line)
	}()
	r.Body = http.MaxBytesReader(x, r.Body, s.cfg.MaxBodyBytes)
	if s.cfg.RequestTimeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	s.route(x, r)
}

// Wait returns when no request is being served: after http.Server.Close
// has cancelled them, the sessions' backends may then be closed.
func (s *Server) Wait() { s.inflight.Wait() }

func (s *Server) route(x *exchange, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/v1/") && !s.authorized(r) {
		writeError(x, newError(http.StatusUnauthorized, authentication, "invalid_api_key",
			"missing or wrong API key: send the header 'Authorization: Bearer KEY'"))
		return
	}
	type route struct {
		method string
		handle func(*exchange, *http.Request)
	}
	var rt route
	switch {
	case path == "/health":
		rt = route{http.MethodGet, s.health}
	case path == "/v1/models":
		rt = route{http.MethodGet, s.models}
	case strings.HasPrefix(path, "/v1/models/"):
		rt = route{http.MethodGet, s.model}
	case path == "/v1/completions":
		rt = route{http.MethodPost, s.completions}
	case path == "/v1/chat/completions":
		rt = route{http.MethodPost, s.chatCompletions}
	default:
		writeError(x, newError(http.StatusNotFound, notFound, "not_found", "unknown route %s %s", r.Method, path))
		return
	}
	if r.Method != rt.method {
		x.Header().Set("Allow", rt.method)
		writeError(x, newError(http.StatusMethodNotAllowed, invalidRequest, "method_not_allowed",
			"%s %s: use %s", r.Method, path, rt.method))
		return
	}
	rt.handle(x, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	got := r.Header.Get("Authorization")
	return subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+s.cfg.APIKey)) == 1
}

func (s *Server) health(x *exchange, _ *http.Request) {
	idle, queued := s.pool.counts()
	writeJSON(x, http.StatusOK, map[string]any{
		"status": "ok", "slots_idle": idle, "slots_processing": s.pool.total - idle, "queued": queued,
	})
}

func (s *Server) modelObject() map[string]any {
	return map[string]any{"id": s.cfg.Model, "object": "model", "created": s.created, "owned_by": "metalgraph"}
}

func (s *Server) models(x *exchange, _ *http.Request) {
	writeJSON(x, http.StatusOK, map[string]any{"object": "list", "data": []any{s.modelObject()}})
}

func (s *Server) model(x *exchange, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	if e := s.checkModel(&name); e != nil {
		writeError(x, e)
		return
	}
	writeJSON(x, http.StatusOK, s.modelObject())
}

// checkModel accepts an absent model or the served one's name.
func (s *Server) checkModel(name *string) *apiError {
	if name == nil || *name == s.cfg.Model {
		return nil
	}
	e := newError(http.StatusNotFound, invalidRequest, "model_not_found",
		"the model %q does not exist; this server serves %q", *name, s.cfg.Model)
	param := "model"
	e.Param = &param
	return e
}
