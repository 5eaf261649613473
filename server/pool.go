package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/metalgraph/metalgraph/engine"
)

// slot is one engine session; whoever holds it is its only user.
type slot struct {
	id      int
	session *engine.Session
	used    uint64 // when it was last handed out, on the pool's clock
}

// pool hands out slots: an idle one at once, else a place in a bounded
// first-come queue, else errBusy.
type pool struct {
	mu       sync.Mutex
	idle     []*slot
	waiters  []chan *slot // FIFO; each gets exactly one slot
	maxQueue int
	total    int
	clock    uint64
}

var errBusy = newError(http.StatusServiceUnavailable, unavailable, "server_busy",
	"all slots are busy and the queue is full; retry later")

func newPool(sessions []*engine.Session, maxQueue int) *pool {
	p := &pool{maxQueue: maxQueue, total: len(sessions)}
	for i, s := range sessions {
		p.idle = append(p.idle, &slot{id: i, session: s})
	}
	return p
}

// acquire returns a slot for a prompt, waiting in the queue until one
// frees or ctx ends.
func (p *pool) acquire(ctx context.Context, ids []int32) (*slot, error) {
	p.mu.Lock()
	if len(p.idle) > 0 && len(p.waiters) == 0 {
		i := p.choose(ids)
		s := p.idle[i]
		p.idle = append(p.idle[:i], p.idle[i+1:]...)
		p.mu.Unlock()
		return s, nil
	}
	if len(p.waiters) >= p.maxQueue {
		p.mu.Unlock()
		return nil, errBusy
	}
	w := make(chan *slot, 1)
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	select {
	case s := <-w:
		return s, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, x := range p.waiters {
			if x == w {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		p.mu.Unlock()
		p.release(<-w) // handed a slot just as ctx ended: pass it on
		return nil, ctx.Err()
	}
}

// choose picks the idle slot whose cache shares the longest prefix with
// ids, unless that would throw away more of its cache than it reuses (a
// new conversation sharing only BOS with a long chat): then the idle slot
// used least recently, as llama-server does below its similarity bound.
func (p *pool) choose(ids []int32) int {
	best, lru := 0, 0
	for i, s := range p.idle {
		if s.session.CachedPrefix(ids) > p.idle[best].session.CachedPrefix(ids) {
			best = i
		}
		if s.used < p.idle[lru].used {
			lru = i
		}
	}
	if 2*p.idle[best].session.CachedPrefix(ids) < p.idle[best].session.Pos() {
		best = lru
	}
	p.clock++
	p.idle[best].used = p.clock
	return best
}

// release gives a slot to the longest waiter, or back to the idle list.
func (p *pool) release(s *slot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.clock++
		s.used = p.clock
		w <- s
		return
	}
	p.idle = append(p.idle, s)
}

// counts reports idle slots and queued requests.
func (p *pool) counts() (idle, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), len(p.waiters)
}
