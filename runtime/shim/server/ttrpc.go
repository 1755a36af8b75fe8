package server

import (
	"context"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/window"
)

// ttrpcService is the service as the ttrpc API, the only one a shim
// serves. Exec and Attach carry a process's stdio: their streams are
// flow-controlled by a window (package window), as ttrpc drops a stream
// whose reader falls a second behind.
type ttrpcService struct {
	*service
}

var _ shimv1.TTRPCShimService = ttrpcService{}

// Events streams state changes. Without stream interceptors in ttrpc, it
// ends the trim's quiet period itself.
func (s ttrpcService) Events(ctx context.Context, req *shimv1.EventsRequest, stream shimv1.TTRPCShim_EventsServer) error {
	defer s.trim.kick()
	return s.service.Events(req, ttrpcEvents{ctx: ctx, TTRPCShim_EventsServer: stream})
}

// Exec runs a process in a container over a windowed stream. A stream can
// run long and copy much: the shim collects as it works meanwhile.
func (s ttrpcService) Exec(ctx context.Context, stream shimv1.TTRPCShim_ExecServer) error {
	s.trim.busy()
	defer s.trim.kick()
	return s.service.Exec(window.New(ctx, window.ExecShim, stream.Send, stream.Recv))
}

// Attach connects to a container's stdio over a windowed stream.
func (s ttrpcService) Attach(ctx context.Context, stream shimv1.TTRPCShim_AttachServer) error {
	s.trim.busy()
	defer s.trim.kick()
	return s.service.Attach(window.New(ctx, window.AttachShim, stream.Send, stream.Recv))
}

// ttrpcEvents is a ttrpc Events stream with its context.
type ttrpcEvents struct {
	ctx context.Context
	shimv1.TTRPCShim_EventsServer
}

func (e ttrpcEvents) Context() context.Context { return e.ctx }
