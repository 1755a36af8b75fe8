package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// ttrpcService is the service as the ttrpc API: the daemon's everyday calls
// (Info, State, CreateContainer, Signal, Events...) go through it. Exec and
// Attach stay on gRPC: they carry a process's stdio, and ttrpc has no flow
// control (a reader that falls more than a second behind loses the stream),
// where gRPC's holds the process back.
type ttrpcService struct {
	*service
}

var _ shimv1.TTRPCShimService = ttrpcService{}

// Events streams state changes like the gRPC Events. Without stream
// interceptors in ttrpc, it ends the trim's quiet period itself.
func (s ttrpcService) Events(ctx context.Context, req *shimv1.EventsRequest, stream shimv1.TTRPCShim_EventsServer) error {
	defer s.trim.kick()
	return s.service.Events(req, ttrpcEventsStream{ctx: ctx, stream: stream})
}

// Exec answers Unimplemented: the client execs over gRPC.
func (ttrpcService) Exec(context.Context, shimv1.TTRPCShim_ExecServer) error {
	return status.Error(codes.Unimplemented, "exec is served on the shim's gRPC socket")
}

// Attach answers Unimplemented: the client attaches over gRPC.
func (ttrpcService) Attach(context.Context, shimv1.TTRPCShim_AttachServer) error {
	return status.Error(codes.Unimplemented, "attach is served on the shim's gRPC socket")
}

// ttrpcEventsStream is a ttrpc Events stream as the gRPC one the service
// writes to; only Send and Context are used.
type ttrpcEventsStream struct {
	ctx    context.Context
	stream shimv1.TTRPCShim_EventsServer
}

var _ grpc.ServerStreamingServer[shimv1.ContainerState] = ttrpcEventsStream{}

func (s ttrpcEventsStream) Send(st *shimv1.ContainerState) error { return s.stream.Send(st) }
func (s ttrpcEventsStream) Context() context.Context             { return s.ctx }
func (s ttrpcEventsStream) SendMsg(m any) error                  { return s.stream.SendMsg(m) }
func (s ttrpcEventsStream) RecvMsg(m any) error                  { return s.stream.RecvMsg(m) }
func (ttrpcEventsStream) SetHeader(metadata.MD) error            { return nil }
func (ttrpcEventsStream) SendHeader(metadata.MD) error           { return nil }
func (ttrpcEventsStream) SetTrailer(metadata.MD)                 {}
