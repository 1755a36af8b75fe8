package shim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/proto/shim/v1/shimgrpc"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/runtime/shim/window"
)

// execIdleTimeout is how long the gRPC connection that carries Exec and
// Attach streams to a shim from before ttrpc streams stays open without a
// call: a pod with an exec probe keeps it, an idle pod costs the daemon no
// gRPC connection.
const execIdleTimeout = 30 * time.Second

// dialTTRPC connects to the shim's ttrpc socket and asks its Info.
func dialTTRPC(ctx context.Context, stateDir string) (*Client, error) {
	conn, err := dialUnix(ctx, shimdir.TTRPCSocketPath(stateDir))
	if err != nil {
		return nil, err
	}
	a := &ttrpcAPI{stateDir: stateDir, conn: ttrpc.NewClient(conn)}
	a.api = shimv1.NewTTRPCShimClient(a.conn)
	a.hub = newEventsHub(a.api)
	ictx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	info, err := a.api.Info(ictx, &shimv1.InfoRequest{})
	if err != nil {
		a.conn.Close()
		return nil, err
	}
	a.streams = info.GetTtrpcStreams()
	return &Client{ShimClient: a, close: a.Close, stateDir: stateDir, pid: int(info.GetPid()), hold: info.GetHold(), pinned: info.GetPinnedNamespaces()}, nil
}

func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// refusedErr reports whether err says that nothing serves a socket.
func refusedErr(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// ttrpcAPI is the shim API over ttrpc, in the shape of the gRPC client the
// daemon uses (call options are ignored). Events streams share one stream
// from the shim (eventsHub). Exec and Attach are windowed ttrpc streams
// (package window), or go over gRPC to a shim from before them (streams
// unset).
type ttrpcAPI struct {
	stateDir string
	conn     *ttrpc.Client
	api      shimv1.TTRPCShimClient
	hub      *eventsHub
	// streams is the shim's Info: it serves Exec and Attach over ttrpc.
	streams bool

	mu sync.Mutex
	// grpc carries Exec and Attach to a shim without streams; made at the
	// first.
	grpc   *grpc.ClientConn
	closed bool
}

var _ shimgrpc.ShimClient = (*ttrpcAPI)(nil)

func (a *ttrpcAPI) Info(ctx context.Context, in *shimv1.InfoRequest, _ ...grpc.CallOption) (*shimv1.InfoResponse, error) {
	return a.api.Info(ctx, in)
}

func (a *ttrpcAPI) CreateContainer(ctx context.Context, in *shimv1.CreateContainerRequest, _ ...grpc.CallOption) (*shimv1.CreateContainerResponse, error) {
	return a.api.CreateContainer(ctx, in)
}

func (a *ttrpcAPI) StartContainer(ctx context.Context, in *shimv1.StartContainerRequest, _ ...grpc.CallOption) (*shimv1.StartContainerResponse, error) {
	return a.api.StartContainer(ctx, in)
}

func (a *ttrpcAPI) Signal(ctx context.Context, in *shimv1.SignalRequest, _ ...grpc.CallOption) (*shimv1.SignalResponse, error) {
	return a.api.Signal(ctx, in)
}

func (a *ttrpcAPI) State(ctx context.Context, in *shimv1.StateRequest, _ ...grpc.CallOption) (*shimv1.StateResponse, error) {
	return a.api.State(ctx, in)
}

func (a *ttrpcAPI) Remove(ctx context.Context, in *shimv1.RemoveRequest, _ ...grpc.CallOption) (*shimv1.RemoveResponse, error) {
	return a.api.Remove(ctx, in)
}

func (a *ttrpcAPI) Update(ctx context.Context, in *shimv1.UpdateRequest, _ ...grpc.CallOption) (*shimv1.UpdateResponse, error) {
	return a.api.Update(ctx, in)
}

func (a *ttrpcAPI) ReopenLog(ctx context.Context, in *shimv1.ReopenLogRequest, _ ...grpc.CallOption) (*shimv1.ReopenLogResponse, error) {
	return a.api.ReopenLog(ctx, in)
}

func (a *ttrpcAPI) Shutdown(ctx context.Context, in *shimv1.ShutdownRequest, _ ...grpc.CallOption) (*shimv1.ShutdownResponse, error) {
	return a.api.Shutdown(ctx, in)
}

// Events subscribes to the shim's one Events stream (see eventsHub).
func (a *ttrpcAPI) Events(ctx context.Context, _ *shimv1.EventsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[shimv1.ContainerState], error) {
	return a.hub.subscribe(ctx)
}

// Exec runs over a windowed ttrpc stream, or gRPC.
func (a *ttrpcAPI) Exec(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.ExecRequest, shimv1.ExecResponse], error) {
	if a.streams {
		stream, err := a.api.Exec(ctx)
		if err != nil {
			return nil, err
		}
		return &windowedClient[shimv1.ExecRequest, shimv1.ExecResponse]{window.New(ctx, window.ExecDaemon, stream.Send, stream.Recv)}, nil
	}
	api, err := a.grpcAPI()
	if err != nil {
		return nil, err
	}
	return api.Exec(ctx, opts...)
}

// Attach runs over a windowed ttrpc stream, or gRPC.
func (a *ttrpcAPI) Attach(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.AttachRequest, shimv1.AttachResponse], error) {
	if a.streams {
		stream, err := a.api.Attach(ctx)
		if err != nil {
			return nil, err
		}
		return &windowedClient[shimv1.AttachRequest, shimv1.AttachResponse]{window.New(ctx, window.AttachDaemon, stream.Send, stream.Recv)}, nil
	}
	api, err := a.grpcAPI()
	if err != nil {
		return nil, err
	}
	return api.Attach(ctx, opts...)
}

// grpcAPI returns the gRPC client for Exec and Attach, made at the first
// call. Its connection closes after execIdleTimeout without a call and
// opens again at the next.
func (a *ttrpcAPI) grpcAPI() (shimgrpc.ShimClient, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fmt.Errorf("shim in %s: %w", a.stateDir, ttrpc.ErrClosed)
	}
	if a.grpc == nil {
		conn, err := newGRPCConn(a.stateDir, grpc.WithIdleTimeout(execIdleTimeout))
		if err != nil {
			return nil, err
		}
		a.grpc = conn
	}
	return shimgrpc.NewShimClient(a.grpc), nil
}

// Close closes every connection; open Events streams end.
func (a *ttrpcAPI) Close() error {
	a.mu.Lock()
	a.closed = true
	g := a.grpc
	a.grpc = nil
	a.mu.Unlock()
	if g != nil {
		g.Close()
	}
	err := a.conn.Close()
	a.hub.close()
	return err
}

// windowedClient is a windowed ttrpc stream in the shape of a gRPC one. Its
// CloseSend ends the client's input, not the ttrpc stream: the client's
// grants still go to the shim over it.
type windowedClient[S, R any] struct {
	*window.Stream[*S, *R]
}

func (w *windowedClient[S, R]) CloseSend() error {
	w.Stream.CloseSend()
	return nil
}

func (w *windowedClient[S, R]) SendMsg(m any) error {
	msg, ok := m.(*S)
	if !ok {
		return fmt.Errorf("windowed stream: SendMsg takes a %T, not %T", msg, m)
	}
	return w.Send(msg)
}

func (w *windowedClient[S, R]) RecvMsg(m any) error {
	dst, ok := m.(*R)
	if !ok {
		return fmt.Errorf("windowed stream: RecvMsg takes a %T, not %T", dst, m)
	}
	r, err := w.Recv()
	if err != nil {
		return err
	}
	// Both are pointers to the same generated message type.
	d, src := any(dst).(proto.Message), any(r).(proto.Message)
	proto.Reset(d)
	proto.Merge(d, src)
	return nil
}

func (w *windowedClient[S, R]) Header() (metadata.MD, error) { return nil, nil }
func (w *windowedClient[S, R]) Trailer() metadata.MD         { return nil }
