package shim

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// fakeEventsAPI serves Events streams fed by the test.
type fakeEventsAPI struct {
	shimv1.TTRPCShimClient
	mu      sync.Mutex
	streams []*fakeEventsStream
}

func (f *fakeEventsAPI) Events(context.Context, *shimv1.EventsRequest) (shimv1.TTRPCShim_EventsClient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeEventsStream{ch: make(chan *shimv1.ContainerState), end: make(chan error, 1)}
	f.streams = append(f.streams, s)
	return s, nil
}

func (f *fakeEventsAPI) stream(i int) *fakeEventsStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams[i]
}

type fakeEventsStream struct {
	shimv1.TTRPCShim_EventsClient
	ch  chan *shimv1.ContainerState
	end chan error
}

func (s *fakeEventsStream) Recv() (*shimv1.ContainerState, error) {
	select {
	case st := <-s.ch:
		return st, nil
	case err := <-s.end:
		return nil, err
	}
}

func recvID(t *testing.T, e *hubEvents) string {
	t.Helper()
	st, err := e.Recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return st.GetId()
}

// Every subscriber gets every event of the one stream; a subscriber whose
// ctx ends leaves without ending the others.
func TestEventsHubFansOutAndSubscribersLeaveByCtx(t *testing.T) {
	api := &fakeEventsAPI{}
	h := newEventsHub(api)
	ctx1, cancel1 := context.WithCancel(context.Background())
	a, err := h.subscribe(ctx1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(api.streams) != 1 {
		t.Fatalf("%d streams from the shim, want 1", len(api.streams))
	}
	api.stream(0).ch <- &shimv1.ContainerState{Id: "x"}
	if recvID(t, a) != "x" || recvID(t, b) != "x" {
		t.Fatal("a subscriber missed x")
	}
	cancel1()
	if _, err := a.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("recv after cancel: %v, want context.Canceled", err)
	}
	api.stream(0).ch <- &shimv1.ContainerState{Id: "y"}
	if recvID(t, b) != "y" {
		t.Fatal("b missed y after a left")
	}
}

// When the shim's stream ends, every subscriber's does, after the events
// it had; the next subscriber opens a new stream.
func TestEventsHubEndsSubscribersWithTheStream(t *testing.T) {
	api := &fakeEventsAPI{}
	h := newEventsHub(api)
	a, _ := h.subscribe(context.Background())
	api.stream(0).ch <- &shimv1.ContainerState{Id: "x"}
	api.stream(0).end <- io.EOF
	if recvID(t, a) != "x" {
		t.Fatal("a missed x")
	}
	if _, err := a.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("recv after the stream ended: %v, want EOF", err)
	}
	b, err := h.subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	api.stream(1).ch <- &shimv1.ContainerState{Id: "z"}
	if recvID(t, b) != "z" {
		t.Fatal("b missed z on the new stream")
	}
}

// A subscriber that falls eventsBuffer events behind is dropped (it
// resyncs with State); the others go on.
func TestEventsHubDropsASubscriberThatFallsBehind(t *testing.T) {
	api := &fakeEventsAPI{}
	h := newEventsHub(api)
	slow, _ := h.subscribe(context.Background())
	fast, _ := h.subscribe(context.Background())
	for range eventsBuffer + 1 {
		api.stream(0).ch <- &shimv1.ContainerState{Id: "e"}
		recvID(t, fast)
	}
	for range eventsBuffer {
		recvID(t, slow)
	}
	if _, err := slow.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("slow subscriber: %v, want ResourceExhausted", err)
	}
	api.stream(0).ch <- &shimv1.ContainerState{Id: "last"}
	if recvID(t, fast) != "last" {
		t.Fatal("fast subscriber missed an event")
	}
}

// Closing the hub (the client) ends every subscriber's stream.
func TestEventsHubCloseEndsSubscribers(t *testing.T) {
	h := newEventsHub(&fakeEventsAPI{})
	a, _ := h.subscribe(context.Background())
	h.close()
	if _, err := a.Recv(); err == nil {
		t.Fatal("recv after close: no error")
	}
	if _, err := h.subscribe(context.Background()); err == nil {
		t.Fatal("subscribe after close: no error")
	}
}
