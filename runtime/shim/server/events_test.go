package server

import (
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Every subscriber gets every event in order; one that falls more than
// subscriberBuffer behind is dropped (its channel closed) without holding
// up the others; close ends every subscription.
func TestBrokerFanOut(t *testing.T) {
	b := newBroker()
	fast, cancelFast := b.subscribe()
	slow, _ := b.subscribe()
	for i := range subscriberBuffer {
		b.publish(&shimv1.ContainerState{Pid: int32(i)})
		if got := <-fast; got.Pid != int32(i) {
			t.Fatalf("fast subscriber got pid %d, want %d", got.Pid, i)
		}
	}
	b.publish(&shimv1.ContainerState{Pid: -1}) // one past the slow one's buffer
	n, timeout := 0, time.After(10*time.Second)
	for open := true; open; {
		select {
		case _, open = <-slow:
			if open {
				n++
			}
		case <-timeout:
			t.Fatalf("slow subscriber still open after %d events", n)
		}
	}
	if n != subscriberBuffer {
		t.Errorf("slow subscriber got %d events before its channel closed, want %d", n, subscriberBuffer)
	}
	if got := <-fast; got.Pid != -1 {
		t.Errorf("fast subscriber missed the event that dropped the slow one: %v", got)
	}
	cancelFast()
	cancelFast() // idempotent
	if _, ok := <-fast; ok {
		t.Error("cancelled subscription still open")
	}
	last, _ := b.subscribe()
	b.close()
	if _, ok := <-last; ok {
		t.Error("close left a subscription open")
	}
	b.publish(&shimv1.ContainerState{}) // no subscriber: no panic
}

// A subscription that comes after the broker closed (a daemon's Events call
// racing the teardown) ends at once: it waited for the client to go, and
// the shim's exit waited 5 s for it.
func TestBrokerSubscribeAfterClose(t *testing.T) {
	b := newBroker()
	b.close()
	ch, cancel := b.subscribe()
	defer cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("an event after close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a subscription after close did not end")
	}
}
