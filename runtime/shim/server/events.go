package server

import (
	"sync"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// subscriberBuffer is how many events a subscriber may lag behind before it
// is dropped (it then resyncs with State).
const subscriberBuffer = 256

// broker fans container state changes out to Events streams.
type broker struct {
	mu   sync.Mutex
	subs map[chan *shimv1.ContainerState]struct{}
	// closed is set by close: later subscriptions end at once.
	closed bool
}

func newBroker() *broker {
	return &broker{subs: map[chan *shimv1.ContainerState]struct{}{}}
}

// subscribe returns a channel of events and a cancel func. The channel is
// closed when the subscriber falls too far behind or the broker closes (at
// once if it has).
func (b *broker) subscribe() (<-chan *shimv1.ContainerState, func()) {
	ch := make(chan *shimv1.ContainerState, subscriberBuffer)
	b.mu.Lock()
	if b.closed {
		close(ch)
	} else {
		b.subs[ch] = struct{}{}
	}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broker) publish(st *shimv1.ContainerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- st:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// close ends every subscription.
func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
}
