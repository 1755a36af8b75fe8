// Package limiter bounds how much work runs at once: a counting semaphore
// whose waiters are served by priority, then in arrival order (FIFO), so
// that one busy pod cannot starve the others and the daemon's own
// maintenance goes before new starts.
package limiter

import (
	"container/list"
	"context"
	"sync"
)

// Priority orders waiters: a lower value is served first.
type Priority int

const (
	// Maintain is the daemon's own work on what exists: tearing down,
	// deleting, reconciling after a restart.
	Maintain Priority = iota
	// Continue finishes what was begun: starting the containers of a
	// sandbox that exists, so that pods come up one after another instead
	// of all sandboxes first (a burst then has running pods early).
	Continue
	// Start is new work: creating sandboxes.
	Start
	numPriorities
)

// Limiter admits at most its size of holders at once. The zero value is not
// usable; a nil *Limiter admits everything at once.
type Limiter struct {
	mu     sync.Mutex
	size   int
	used   int
	queues [numPriorities]list.List
}

// New returns a limiter admitting n holders at once (at least one).
func New(n int) *Limiter {
	return &Limiter{size: max(n, 1)}
}

// waiter is one Acquire waiting for a slot; ready is closed when the slot
// is handed over.
type waiter struct {
	ready chan struct{}
}

// Acquire waits for a slot of priority p and returns the function that
// gives it back (safe to call more than once). It returns ctx's error if ctx
// ends first, holding nothing.
func (l *Limiter) Acquire(ctx context.Context, p Priority) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	if p < 0 || p >= numPriorities {
		p = Start
	}
	l.mu.Lock()
	if l.used < l.size {
		l.used++
		l.mu.Unlock()
		return l.releaser(), nil
	}
	w := &waiter{ready: make(chan struct{})}
	elem := l.queues[p].PushBack(w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return l.releaser(), nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-w.ready:
			// Handed a slot while giving up: pass it on.
			l.mu.Unlock()
			l.release()
		default:
			l.queues[p].Remove(elem)
			l.mu.Unlock()
		}
		return nil, ctx.Err()
	}
}

// TryAcquire takes a slot if one is free now, without waiting: ok reports
// whether it did, and release gives it back as Acquire's does. A free slot
// has no waiters (a released slot goes to the first waiter), so taking it
// jumps no queue.
func (l *Limiter) TryAcquire() (release func(), ok bool) {
	if l == nil {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used >= l.size {
		return nil, false
	}
	l.used++
	return l.releaser(), true
}

func (l *Limiter) releaser() func() {
	var once sync.Once
	return func() { once.Do(l.release) }
}

// release hands the slot to the first waiter of the best priority, or frees
// it.
func (l *Limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range l.queues {
		if front := l.queues[p].Front(); front != nil {
			l.queues[p].Remove(front)
			close(front.Value.(*waiter).ready)
			return
		}
	}
	l.used--
}

// Stats is a limiter's load at one moment.
type Stats struct {
	// Running holds slots; Waiting waits for one.
	Running, Waiting int
}

// Stats returns how many hold a slot and how many wait.
func (l *Limiter) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Running: l.used}
	for p := range l.queues {
		s.Waiting += l.queues[p].Len()
	}
	return s
}
