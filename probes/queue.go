package probes

import (
	"context"
	"sync"
)

// queue is an unbounded FIFO between the workers and the Updates channel, so
// a slow reader never blocks a worker (R49).
type queue struct {
	out    chan Update
	signal chan struct{}

	mu     sync.Mutex
	items  []Update
	pushed int // updates ever queued
}

func newQueue() *queue {
	return &queue{out: make(chan Update), signal: make(chan struct{}, 1)}
}

func (q *queue) push(u Update) {
	q.mu.Lock()
	q.items = append(q.items, u)
	q.pushed++
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pump feeds out in order until ctx is cancelled, then closes out.
func (q *queue) pump(ctx context.Context) {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			select {
			case <-q.signal:
				continue
			case <-ctx.Done():
				return
			}
		}
		next := q.items[0]
		q.mu.Unlock()
		select {
		case q.out <- next:
			q.mu.Lock()
			q.items[0] = Update{}
			q.items = q.items[1:]
			q.mu.Unlock()
		case <-ctx.Done():
			return
		}
	}
}
