package sandbox

import (
	"sync"
	"time"
)

// EventType is a change of a CRI container or sandbox, as CRI names it.
type EventType string

// The changes the registries report.
const (
	EventCreated EventType = "CREATED"
	EventStarted EventType = "STARTED"
	EventStopped EventType = "STOPPED"
	EventDeleted EventType = "DELETED"
)

// Event is one change. A sandbox's own change has its ID as ContainerID,
// as containerd reports it.
type Event struct {
	ContainerID, SandboxID string
	Type                   EventType
	At                     time.Time
}

// EventBuffer is how many events a subscriber may fall behind before it
// is dropped.
const EventBuffer = 1024

// Events fans the registries' changes out to subscribers without ever
// waiting on one: a subscriber whose buffer is full is dropped (its
// Dropped channel closes), as containerd drops a slow event client.
type Events struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	now  func() time.Time
}

// NewEvents returns a broker with no subscribers.
func NewEvents() *Events {
	return &Events{subs: map[*Subscription]struct{}{}, now: time.Now}
}

// Subscription is one subscriber's events from its Subscribe on.
type Subscription struct {
	// C delivers the events in order.
	C <-chan Event
	// Dropped closes when the subscriber fell EventBuffer events behind;
	// C then gets nothing more.
	Dropped <-chan struct{}

	c       chan Event
	dropped chan struct{}
	events  *Events
}

// Subscribe returns a subscription buffering up to size events
// (EventBuffer when size <= 0).
func (ev *Events) Subscribe(size int) *Subscription {
	if size <= 0 {
		size = EventBuffer
	}
	s := &Subscription{c: make(chan Event, size), dropped: make(chan struct{}), events: ev}
	s.C, s.Dropped = s.c, s.dropped
	ev.mu.Lock()
	ev.subs[s] = struct{}{}
	ev.mu.Unlock()
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	delete(s.events.subs, s)
}

// publish hands e to every subscriber that has room and drops the others.
// A nil broker publishes nothing.
func (ev *Events) publish(t EventType, sandboxID, containerID string) {
	if ev == nil {
		return
	}
	e := Event{ContainerID: containerID, SandboxID: sandboxID, Type: t, At: ev.now()}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for s := range ev.subs {
		select {
		case s.c <- e:
		default:
			delete(ev.subs, s)
			close(s.dropped)
		}
	}
}
