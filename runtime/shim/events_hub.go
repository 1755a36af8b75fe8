package shim

import (
	"context"
	"errors"
	"sync"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// eventsBuffer is how many events a subscriber may lag behind before its
// stream ends (it then resyncs with State), as on the shim's side.
const eventsBuffer = 256

// eventsHub gives every Events subscriber of a shim the events of one
// stream from the shim, on the client's connection. A ttrpc stream has no
// cancel message: one stream per subscriber would go on in the shim (and
// stall the connection's reader once its buffer filled) after the
// subscriber's ctx ended, unless each had a connection of its own to
// close. The hub's stream lasts as long as the connection; a subscriber
// leaves by its ctx.
type eventsHub struct {
	api shimv1.TTRPCShimClient

	mu      sync.Mutex
	subs    map[*hubEvents]struct{}
	running bool
	closed  bool
}

func newEventsHub(api shimv1.TTRPCShimClient) *eventsHub {
	return &eventsHub{api: api, subs: map[*hubEvents]struct{}{}}
}

// subscribe adds a subscriber, opening the stream from the shim if none
// runs.
func (h *eventsHub) subscribe(ctx context.Context) (*hubEvents, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ttrpc.ErrClosed
	}
	if !h.running {
		// The stream outlives this call's ctx: it ends with the
		// connection.
		stream, err := h.api.Events(context.Background(), &shimv1.EventsRequest{})
		if err != nil {
			return nil, err
		}
		h.running = true
		go h.pump(stream)
	}
	sub := &hubEvents{ctx: ctx, hub: h, ch: make(chan *shimv1.ContainerState, eventsBuffer), ended: make(chan struct{})}
	h.subs[sub] = struct{}{}
	return sub, nil
}

// pump hands each event to every subscriber until the stream ends; then
// every subscriber's stream ends with its error, and the next subscribe
// opens a new one.
func (h *eventsHub) pump(stream shimv1.TTRPCShim_EventsClient) {
	for {
		st, err := stream.Recv()
		h.mu.Lock()
		if err != nil {
			h.running = false
			for sub := range h.subs {
				h.endLocked(sub, err)
			}
			h.mu.Unlock()
			return
		}
		for sub := range h.subs {
			select {
			case sub.ch <- st:
			default:
				h.endLocked(sub, status.Error(codes.ResourceExhausted, "events: subscriber fell behind; resync with State"))
			}
		}
		h.mu.Unlock()
	}
}

// endLocked ends sub's stream with err.
func (h *eventsHub) endLocked(sub *hubEvents, err error) {
	if _, ok := h.subs[sub]; !ok {
		return
	}
	delete(h.subs, sub)
	sub.err = err
	close(sub.ended)
}

func (h *eventsHub) leave(sub *hubEvents, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(sub, err)
}

// close ends every subscriber's stream; the connection is closed (the
// stream from the shim ends with it).
func (h *eventsHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sub := range h.subs {
		h.endLocked(sub, ttrpc.ErrClosed)
	}
}

// hubEvents is one subscriber's Events stream, in the shape of a gRPC one.
type hubEvents struct {
	ctx   context.Context
	hub   *eventsHub
	ch    chan *shimv1.ContainerState
	ended chan struct{}
	// err is why the stream ended; set before ended is closed.
	err error
}

var _ grpc.ServerStreamingClient[shimv1.ContainerState] = (*hubEvents)(nil)

// Recv returns the next event; events that came before the stream ended
// are returned first.
func (e *hubEvents) Recv() (*shimv1.ContainerState, error) {
	select {
	case st := <-e.ch:
		return st, nil
	default:
	}
	select {
	case st := <-e.ch:
		return st, nil
	case <-e.ended:
		select {
		case st := <-e.ch:
			return st, nil
		default:
			return nil, e.err
		}
	case <-e.ctx.Done():
		e.hub.leave(e, e.ctx.Err())
		return nil, e.ctx.Err()
	}
}

func (e *hubEvents) RecvMsg(m any) error {
	st, err := e.Recv()
	if err != nil {
		return err
	}
	dst, ok := m.(*shimv1.ContainerState)
	if !ok {
		return errors.New("events: RecvMsg takes a *ContainerState")
	}
	proto.Reset(dst)
	proto.Merge(dst, st)
	return nil
}

func (e *hubEvents) Context() context.Context     { return e.ctx }
func (e *hubEvents) Header() (metadata.MD, error) { return nil, nil }
func (e *hubEvents) Trailer() metadata.MD         { return nil }
func (e *hubEvents) CloseSend() error             { return nil }
func (e *hubEvents) SendMsg(any) error            { return errors.New("events: the client sends nothing") }
