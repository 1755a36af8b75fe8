package podclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

func TestFormatError(t *testing.T) {
	notFound := status.Error(codes.NotFound, `pods "x" not found`)
	tests := []struct {
		err  error
		want string
	}{
		{notFound, `Error from server (NotFound): pods "x" not found`},
		{fmt.Errorf("get pod: %w", notFound), `Error from server (NotFound): pods "x" not found`},
		{status.Error(codes.InvalidArgument, "spec.containers[1].image: Required value"),
			"Error from server (InvalidArgument): spec.containers[1].image: Required value"},
		{status.Error(codes.Unknown, "odd"), "Error from server: odd"},
		{errors.New("plain"), "error: plain"},
		{&NotRunningError{Socket: "/run/podd/podd.sock", Err: errors.New("connect: no such file or directory")},
			"error: cannot connect to podd at unix:///run/podd/podd.sock: is the daemon running? (connect: no such file or directory)"},
	}
	for _, tt := range tests {
		if got := FormatError(tt.err); got != tt.want {
			t.Errorf("FormatError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSocketDefault(t *testing.T) {
	t.Setenv(SocketEnv, "")
	if got := SocketDefault(); got != DefaultSocket {
		t.Errorf("SocketDefault() = %q, want %q", got, DefaultSocket)
	}
	t.Setenv(SocketEnv, "/tmp/x.sock")
	if got := SocketDefault(); got != "/tmp/x.sock" {
		t.Errorf("SocketDefault() with %s = %q", SocketEnv, got)
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

type versionServer struct {
	poddv1.UnimplementedPodServiceServer
}

func (versionServer) Version(context.Context, *poddv1.VersionRequest) (*poddv1.VersionResponse, error) {
	return &poddv1.VersionResponse{}, nil
}

// A command connects to the daemon once: the connection that checks that
// the daemon answers carries its calls (each connection costs the daemon
// an accept and a gRPC transport, on the way of every apply).
func TestDialConnectsOnce(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "podd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	srv := grpc.NewServer()
	poddv1.RegisterPodServiceServer(srv, versionServer{})
	go func() { _ = srv.Serve(cl) }()
	defer srv.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Version(ctx, &poddv1.VersionRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := cl.accepted.Load(); n != 1 {
		t.Errorf("a Dial and two calls made %d connections, want 1", n)
	}

	// A Dial whose connection no call took closes it.
	c, err = Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	first := c.first.c
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Write([]byte{0}); err == nil {
		t.Error("the unused first connection is still open after Close")
	}
}

// Nothing listening is a NotRunningError at Dial.
func TestDialNotRunning(t *testing.T) {
	_, err := Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"))
	var nr *NotRunningError
	if !errors.As(err, &nr) {
		t.Fatalf("Dial with no daemon: %v, want a NotRunningError", err)
	}
}
