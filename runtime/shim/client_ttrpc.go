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

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// execIdleTimeout is how long the gRPC connection that carries a shim's
// Exec and Attach streams stays open without a call: a pod with an exec
// probe keeps it, an idle pod costs the daemon no gRPC connection.
const execIdleTimeout = 30 * time.Second

// dialTTRPC connects to the shim's ttrpc socket and asks its Info.
func dialTTRPC(ctx context.Context, stateDir string) (*Client, error) {
	conn, err := dialUnix(ctx, TTRPCSocketPath(stateDir))
	if err != nil {
		return nil, err
	}
	a := &ttrpcAPI{stateDir: stateDir, conn: ttrpc.NewClient(conn), events: map[*ttrpc.Client]struct{}{}}
	a.api = shimv1.NewTTRPCShimClient(a.conn)
	ictx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	info, err := a.api.Info(ictx, &shimv1.InfoRequest{})
	if err != nil {
		a.conn.Close()
		return nil, err
	}
	return &Client{ShimClient: a, close: a.Close, stateDir: stateDir, pid: int(info.GetPid())}, nil
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
// daemon uses (call options are ignored). Each Events stream has a
// connection of its own, closed when the stream ends or its ctx does: a
// ttrpc stream has no cancel message, and the shim learns that its client
// went only when the connection closes. Exec and Attach go over gRPC (see
// the shim's ttrpcService).
type ttrpcAPI struct {
	stateDir string
	conn     *ttrpc.Client
	api      shimv1.TTRPCShimClient

	mu sync.Mutex
	// events are the connections of the open Events streams.
	events map[*ttrpc.Client]struct{}
	// grpc carries Exec and Attach; made at the first.
	grpc   *grpc.ClientConn
	closed bool
}

var _ shimv1.ShimClient = (*ttrpcAPI)(nil)

func (a *ttrpcAPI) Info(ctx context.Context, in *shimv1.InfoRequest, _ ...grpc.CallOption) (*shimv1.InfoResponse, error) {
	return a.api.Info(ctx, in)
}

func (a *ttrpcAPI) CreateContainer(ctx context.Context, in *shimv1.CreateContainerRequest, _ ...grpc.CallOption) (*shimv1.CreateContainerResponse, error) {
	return a.api.CreateContainer(ctx, in)
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

// Events opens a stream on a connection of its own.
func (a *ttrpcAPI) Events(ctx context.Context, in *shimv1.EventsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[shimv1.ContainerState], error) {
	conn, err := dialUnix(ctx, TTRPCSocketPath(a.stateDir))
	if err != nil {
		return nil, fmt.Errorf("events of shim in %s: %w", a.stateDir, err)
	}
	cl := ttrpc.NewClient(conn)
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		cl.Close()
		return nil, fmt.Errorf("events of shim in %s: %w", a.stateDir, ttrpc.ErrClosed)
	}
	a.events[cl] = struct{}{}
	a.mu.Unlock()
	done := func() {
		a.mu.Lock()
		delete(a.events, cl)
		a.mu.Unlock()
		cl.Close()
	}
	stop := context.AfterFunc(ctx, done)
	stream, err := shimv1.NewTTRPCShimClient(cl).Events(ctx, in)
	if err != nil {
		stop()
		done()
		return nil, err
	}
	return &ttrpcEvents{ctx: ctx, stream: stream, done: func() { stop(); done() }}, nil
}

// Exec runs over gRPC.
func (a *ttrpcAPI) Exec(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.ExecRequest, shimv1.ExecResponse], error) {
	api, err := a.grpcAPI()
	if err != nil {
		return nil, err
	}
	return api.Exec(ctx, opts...)
}

// Attach runs over gRPC.
func (a *ttrpcAPI) Attach(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.AttachRequest, shimv1.AttachResponse], error) {
	api, err := a.grpcAPI()
	if err != nil {
		return nil, err
	}
	return api.Attach(ctx, opts...)
}

// grpcAPI returns the gRPC client for Exec and Attach, made at the first
// call. Its connection closes after execIdleTimeout without a call and
// opens again at the next.
func (a *ttrpcAPI) grpcAPI() (shimv1.ShimClient, error) {
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
	return shimv1.NewShimClient(a.grpc), nil
}

// Close closes every connection.
func (a *ttrpcAPI) Close() error {
	a.mu.Lock()
	a.closed = true
	events, g := a.events, a.grpc
	a.events, a.grpc = map[*ttrpc.Client]struct{}{}, nil
	a.mu.Unlock()
	for cl := range events {
		cl.Close()
	}
	if g != nil {
		g.Close()
	}
	return a.conn.Close()
}

// ttrpcEvents is a ttrpc Events stream in the shape of a gRPC one; it
// closes its connection when it ends.
type ttrpcEvents struct {
	ctx    context.Context
	stream shimv1.TTRPCShim_EventsClient
	once   sync.Once
	done   func()
}

var _ grpc.ServerStreamingClient[shimv1.ContainerState] = (*ttrpcEvents)(nil)

func (e *ttrpcEvents) Recv() (*shimv1.ContainerState, error) {
	st, err := e.stream.Recv()
	if err != nil {
		e.once.Do(e.done)
	}
	return st, err
}

func (e *ttrpcEvents) RecvMsg(m any) error {
	err := e.stream.RecvMsg(m)
	if err != nil {
		e.once.Do(e.done)
	}
	return err
}

func (e *ttrpcEvents) Context() context.Context     { return e.ctx }
func (e *ttrpcEvents) Header() (metadata.MD, error) { return nil, nil }
func (e *ttrpcEvents) Trailer() metadata.MD         { return nil }
func (e *ttrpcEvents) CloseSend() error             { return nil }
func (e *ttrpcEvents) SendMsg(any) error            { return errors.New("events: the client sends nothing") }
