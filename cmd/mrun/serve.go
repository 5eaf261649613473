package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/metalgraph/metalgraph/chattemplate"
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/runtimes"
	"github.com/metalgraph/metalgraph/server"
)

// maxParallel bounds --parallel: each slot holds a KV cache and a worker pool.
const maxParallel = 64

func init() {
	register(&command{
		name:    "serve",
		args:    "-m FILE [--addr 127.0.0.1:8080] [--parallel N] [--ctx N] [--api-key KEY] [--queue N] [--timeout D] [--max-body B] [--drain D] [--verbose]",
		summary: "serve the model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, /v1/models, /health)",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var f runFlags
			f.declareModel(fs, "CPU threads per slot (0 = the cores shared among the slots)")
			addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on (loopback unless you say otherwise)")
			parallel := fs.Int("parallel", 1, "slots: requests generated at the same time, each with its own KV cache of --ctx tokens")
			queue := fs.Int("queue", 0, "requests that may wait for a slot before the server answers 503 (0 = 4 per slot)")
			apiKey := fs.String("api-key", "", "require 'Authorization: Bearer KEY' on /v1/ (default: the MRUN_API_KEY environment variable)")
			timeout := fs.Duration("timeout", 10*time.Minute, "longest a request may take (0 = no limit)")
			maxBody := fs.Int64("max-body", server.DefaultMaxBody, "largest request body in bytes (413 beyond)")
			verbose := fs.Bool("verbose", false, "log each request's slot, cached prefix and speed")
			drain := fs.Duration("drain", 5*time.Second, "on SIGINT/SIGTERM, how long requests in flight may finish before their connections close")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q", args[0])
				}
				if problem := f.checkModel(); problem != "" {
					return e.usageError("%s", problem)
				}
				switch {
				case *parallel < 1 || *parallel > maxParallel:
					return e.usageError("--parallel %d: must be between 1 and %d", *parallel, maxParallel)
				case *queue < 0:
					return e.usageError("--queue %d must be ≥ 0", *queue)
				case *timeout < 0:
					return e.usageError("--timeout %s must be ≥ 0", *timeout)
				case *maxBody < 1:
					return e.usageError("--max-body %d must be positive", *maxBody)
				case *drain < 0:
					return e.usageError("--drain %s must be ≥ 0", *drain)
				}
				if *apiKey == "" {
					*apiKey = os.Getenv("MRUN_API_KEY")
				}
				cfg := server.Config{MaxQueue: *queue, APIKey: *apiKey, RequestTimeout: *timeout, MaxBodyBytes: *maxBody, Verbose: *verbose}
				return serve(e, f, *addr, *parallel, *drain, cfg)
			}
		},
	})
}

func serve(e *env, f runFlags, addr string, parallel int, drainTime time.Duration, cfg server.Config) int {
	if f.threads == 0 {
		f.threads = max(1, runtime.NumCPU()/parallel)
	}
	s, sessions, err := openSlots(e, f, parallel)
	if err != nil {
		return e.fail(err)
	}
	defer s.Close()
	if cfg.Template, err = chattemplate.FromGGUF(s.model.File, s.tok); err != nil {
		return e.fail(err)
	}
	cfg.Model = strings.TrimSuffix(filepath.Base(f.model), ".gguf")
	cfg.Tokenizer, cfg.Sessions = s.tok, sessions
	cfg.Log = log.New(e.stderr, "", log.LstdFlags)
	srv, err := server.New(cfg)
	if err != nil {
		return e.fail(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return e.fail(err)
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && cfg.APIKey == "" {
		fmt.Fprintf(e.stderr, "warning: listening beyond this machine (%s) without --api-key\n", addr)
	}
	fmt.Fprintf(e.stderr, "serving %q on http://%s with %d slot(s) of %d tokens, %d thread(s) each\n",
		cfg.Model, ln.Addr(), parallel, sessions[0].Config().Context, f.threads)
	hs := server.NewHTTPServer(addr, srv, 0)
	hs.ErrorLog = cfg.Log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return e.fail(err)
	case <-ctx.Done():
	}
	fmt.Fprintf(e.stderr, "shutting down: letting requests in flight finish for up to %s\n", drainTime)
	drain, cancel := context.WithTimeout(context.Background(), drainTime)
	defer cancel()
	if err := hs.Shutdown(drain); err != nil {
		hs.Close() // closing the connections ends their requests' generation
	}
	srv.Wait() // no step may run on a backend being closed
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return e.fail(err)
	}
	return 0
}

// openSlots opens the model with one engine session per slot: the first
// through openSession, the others each on a backend of their own, as a
// backend holds one KV cache.
func openSlots(e *env, f runFlags, n int) (*session, []*engine.Session, error) {
	s, err := openSession(e, f, engine.Options{})
	if err != nil {
		return nil, nil, err
	}
	sessions := []*engine.Session{s.engine}
	for range n - 1 {
		es, err := openSlot(s, f)
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		sessions = append(sessions, es)
	}
	return s, sessions, nil
}

// openSlot opens one more backend on s's model; s.Close closes it.
func openSlot(s *session, f runFlags) (*engine.Session, error) {
	b, err := runtimes.Open(f.backend, s.model.File.Bytes(), runtimes.Options{Threads: f.threads, Tiles: s.tiles})
	if err != nil {
		return nil, err
	}
	s.extra = append(s.extra, b)
	es, err := engine.NewSession(s.model, b, engine.Options{Context: f.ctx})
	if err != nil {
		return nil, err
	}
	return es, es.Warm(1)
}
