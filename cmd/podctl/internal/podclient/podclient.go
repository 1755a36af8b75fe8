// Package podclient connects podctl to the podd daemon's PodService over its
// unix socket and renders gRPC errors the way kubectl renders API errors.
package podclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// DefaultSocket is the daemon's socket when neither --socket nor
// PODD_SOCKET names another.
const DefaultSocket = "/run/podd/podd.sock"

// SocketEnv is the environment variable that overrides DefaultSocket.
const SocketEnv = "PODD_SOCKET"

// DialTimeout bounds connecting to the socket.
const DialTimeout = 3 * time.Second

// SocketDefault returns the socket podctl uses when --socket is not given:
// $PODD_SOCKET if set, else DefaultSocket.
func SocketDefault() string {
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

// NotRunningError reports that nothing answers on the daemon's socket.
type NotRunningError struct {
	Socket string
	Err    error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("cannot connect to podd at unix://%s: is the daemon running? (%v)", e.Socket, e.Err)
}

func (e *NotRunningError) Unwrap() error { return e.Err }

// Conn is an open connection to the daemon.
type Conn struct {
	poddv1.PodServiceClient
	cc    *grpc.ClientConn
	first *firstConn
}

// Dial connects to the daemon on the unix socket at path. It first checks,
// within DialTimeout, that something accepts connections there, so that a
// daemon that is not running gives a *NotRunningError at once instead of an
// error on the first call; the connection it made is the one the first
// call uses.
func Dial(ctx context.Context, path string) (*Conn, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve socket path %q: %w", path, err)
	}
	dial := func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Timeout: DialTimeout}
		return d.DialContext(ctx, "unix", abs)
	}
	probeCtx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	probe, err := dial(probeCtx)
	if err != nil {
		return nil, &NotRunningError{Socket: abs, Err: err}
	}
	first := &firstConn{c: probe}
	cc, err := grpc.NewClient("passthrough:///podd",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			if c := first.take(); c != nil {
				return c, nil
			}
			return dial(ctx)
		}))
	if err != nil {
		first.close()
		return nil, fmt.Errorf("create client for %s: %w", abs, err)
	}
	return &Conn{PodServiceClient: poddv1.NewPodServiceClient(cc), cc: cc, first: first}, nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.first.close()
	return c.cc.Close()
}

// firstConn is the connection Dial made to see that the daemon answers,
// until gRPC takes it for its transport: a command makes one connection,
// not two (each costs the daemon an accept and a transport).
type firstConn struct {
	mu sync.Mutex
	c  net.Conn
}

// take returns the connection once, nil after.
func (f *firstConn) take() net.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.c
	f.c = nil
	return c
}

// close closes the connection if nothing took it.
func (f *firstConn) close() {
	if c := f.take(); c != nil {
		_ = c.Close()
	}
}

// FormatError renders err for the terminal: a gRPC status error as
// kubectl renders an API error, `Error from server (NotFound): pods "x" not
// found`; anything else as `error: <text>`.
func FormatError(err error) string {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus() != nil {
		st := se.GRPCStatus()
		if st.Code() == codes.Unknown {
			return "Error from server: " + st.Message()
		}
		return fmt.Sprintf("Error from server (%s): %s", st.Code(), st.Message())
	}
	return "error: " + err.Error()
}
