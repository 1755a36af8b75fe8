package sandbox

import (
	"testing"
	"time"
)

// Every subscriber gets the events in order; one that falls behind its
// buffer is dropped without holding up the publisher or the others.
func TestEventsFanOutAndDropTheSlow(t *testing.T) {
	ev := NewEvents()
	fast, slow := ev.Subscribe(8), ev.Subscribe(2)
	defer fast.Close()
	defer slow.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, typ := range []EventType{EventCreated, EventStarted, EventStopped, EventDeleted} {
			ev.publish(typ, "sb", "c"+string(rune('0'+i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publish blocked on a slow subscriber")
	}
	for i, want := range []EventType{EventCreated, EventStarted, EventStopped, EventDeleted} {
		e := <-fast.C
		if e.Type != want || e.SandboxID != "sb" || e.ContainerID != "c"+string(rune('0'+i)) {
			t.Errorf("event %d: %+v, want %s", i, e, want)
		}
	}
	select {
	case <-slow.Dropped:
	default:
		t.Fatal("the subscriber past its buffer was not dropped")
	}
	if got := len(slow.C); got != 2 {
		t.Errorf("dropped subscriber holds %d events, want the 2 that fit", got)
	}
	select {
	case <-fast.Dropped:
		t.Error("the subscriber that kept up was dropped")
	default:
	}
	// Closed subscriptions get nothing more.
	fast.Close()
	ev.publish(EventCreated, "sb", "x")
	if len(fast.C) != 0 {
		t.Error("a closed subscription got an event")
	}
	var nilEvents *Events
	nilEvents.publish(EventCreated, "sb", "x")
}
