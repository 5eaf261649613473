package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/metalgraph/metalgraph/chattemplate"
	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/tokenizer"
)

func init() {
	register(&command{
		name:    "chat",
		args:    "-m FILE [--system TEXT] [-n N] [--temp T ...] [--ctx N]",
		summary: "chat with the model in the terminal (one message per line; /reset, /exit; Ctrl-C stops an answer)",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var f runFlags
			f.declare(fs, 512)
			system := fs.String("system", "", "system message that opens the conversation")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q (type messages on standard input)", args[0])
				}
				if problem := f.check(); problem != "" {
					return e.usageError("%s", problem)
				}
				return chat(e, f, *system)
			}
		},
	})
}

// chatSession is a conversation: its messages and the engine session
// whose cache holds them.
type chatSession struct {
	*session
	f        runFlags
	template *chattemplate.Template
	system   string
	history  []chattemplate.Message
}

func chat(e *env, f runFlags, system string) int {
	s, err := openSession(e, f, engine.Options{})
	if err != nil {
		return e.fail(err)
	}
	defer s.Close()
	tmpl, err := chattemplate.FromGGUF(s.model.File, s.tok)
	if err != nil {
		return e.fail(err)
	}
	if f.seed < 0 {
		f.seed = time.Now().UnixNano() & math.MaxInt32
	}
	f.sampling.Seed = uint64(f.seed)
	c := &chatSession{session: s, f: f, template: tmpl, system: system}
	c.reset()
	interactive := isTerminal(e.stdin)
	if interactive {
		fmt.Fprintln(e.stderr, "type a message and Enter; /reset starts over, /exit (or Ctrl-D) quits, Ctrl-C stops an answer")
	}
	answering := watchInterrupts(e.stderr)
	defer answering.stop()
	in := bufio.NewScanner(e.stdin)
	in.Buffer(make([]byte, 64<<10), maxStdin)
	for {
		if interactive {
			fmt.Fprint(e.stderr, "> ")
		}
		if !in.Scan() {
			break
		}
		line := strings.TrimSpace(in.Text())
		switch line {
		case "":
			continue
		case "/exit", "/quit":
			return 0
		case "/reset":
			c.reset()
			continue
		}
		ctx := answering.start()
		err := c.answer(ctx, e.stdout, line)
		answering.end()
		if err != nil {
			if isOutputError(err) {
				return e.fail(err)
			}
			fmt.Fprintf(e.stderr, "mrun: chat: %s\n", oneLine(err.Error()))
		}
	}
	if err := in.Err(); err != nil {
		return e.fail(fmt.Errorf("read standard input: %w", err))
	}
	return 0
}

func (c *chatSession) reset() {
	c.history = c.history[:0]
	if c.system != "" {
		c.history = append(c.history, chattemplate.Message{Role: "system", Content: c.system})
	}
	c.engine.Reset()
}

// outputError marks a failed write of the answer: the end of the chat.
type outputError struct{ error }

func (e outputError) Unwrap() error { return e.error }

func isOutputError(err error) bool {
	var o outputError
	return errors.As(err, &o)
}

// answer streams the model's reply to message; the session keeps the
// conversation's tokens, so only the new turn is prefilled. A reply cut
// short by ctx stays in the history as far as it got, as in llama.cpp.
func (c *chatSession) answer(ctx context.Context, w io.Writer, message string) error {
	msgs := append(c.history, chattemplate.Message{Role: "user", Content: message})
	text, err := c.template.Render(msgs, true)
	if err != nil {
		return err
	}
	ids := c.tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: !c.template.StartsWithBOS(text), ParseSpecial: true})
	var reply strings.Builder
	_, err = engine.GenerateTokens(c.engine, c.tok, ids, engine.GenerateOptions{
		MaxTokens: c.f.tokens,
		Sampling:  c.f.sampling,
		OnText: func(t string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			reply.WriteString(t)
			if _, err := io.WriteString(w, t); err != nil {
				return outputError{err}
			}
			return nil
		},
	})
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err != nil && !isOutputError(err) && reply.Len() == 0 {
		return err // nothing was said: the turn is not part of the conversation
	}
	c.history = append(msgs, chattemplate.Message{Role: "assistant", Content: reply.String()})
	if _, werr := io.WriteString(w, "\n"); werr != nil && err == nil {
		err = outputError{werr}
	}
	return err
}

// interrupts turns Ctrl-C into the end of the answer being generated; at
// the prompt it only reminds how to quit.
type interrupts struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	sigs   chan os.Signal
	done   chan struct{}
}

func watchInterrupts(stderr io.Writer) *interrupts {
	in := &interrupts{sigs: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(in.sigs, os.Interrupt)
	go func() {
		for {
			select {
			case <-in.sigs:
			case <-in.done:
				return
			}
			in.mu.Lock()
			if in.cancel != nil {
				in.cancel()
			} else {
				fmt.Fprint(stderr, "\n(/exit or Ctrl-D quits)\n> ")
			}
			in.mu.Unlock()
		}
	}()
	return in
}

func (in *interrupts) start() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	in.mu.Lock()
	in.cancel = cancel
	in.mu.Unlock()
	return ctx
}

func (in *interrupts) end() {
	in.mu.Lock()
	in.cancel()
	in.cancel = nil
	in.mu.Unlock()
}

func (in *interrupts) stop() {
	signal.Stop(in.sigs)
	close(in.done)
}
