package window_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/ttrpc"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/window"
)

// ttrpcStall is how long the tests' readers stop reading: past the second
// after which ttrpc drops a stream whose queue of 64 unread messages is
// full.
const ttrpcStall = 2500 * time.Millisecond

// outputShim serves Exec over ttrpc: it answers a start with n stdout
// messages as fast as they go, then the exit.
type outputShim struct {
	shimv1.TTRPCShimService
	n        int
	windowed bool
}

func (s outputShim) Exec(ctx context.Context, stream shimv1.TTRPCShim_ExecServer) error {
	send, recv := stream.Send, stream.Recv
	if s.windowed {
		w := window.New(ctx, window.ExecShim, stream.Send, stream.Recv)
		send, recv = w.Send, w.Recv
	}
	if _, err := recv(); err != nil {
		return err
	}
	for i := range s.n {
		if err := send(&shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Stdout{Stdout: []byte{byte(i)}}}); err != nil {
			return err
		}
	}
	return send(&shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Exit{Exit: &shimv1.ExecExit{ExitCode: 3}}})
}

// execClient serves s on a unix socket and returns a ttrpc client of it.
func execClient(t *testing.T, s outputShim) shimv1.TTRPCShimClient {
	t.Helper()
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	shimv1.RegisterTTRPCShimService(srv, s)
	lis, err := net.Listen("unix", filepath.Join(t.TempDir(), "ttrpc.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(context.Background(), lis) }()
	conn, err := net.Dial("unix", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := ttrpc.NewClient(conn)
	t.Cleanup(func() {
		c.Close()
		srv.Close()
	})
	return shimv1.NewTTRPCShimClient(c)
}

// readAll starts an exec, reads one message, stalls, then reads the rest:
// the stdout messages in order, and the exit code.
func readAll(t *testing.T, api shimv1.TTRPCShimClient, windowed bool) (int, int32, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := api.Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send, recv := stream.Send, stream.Recv
	if windowed {
		w := window.New(ctx, window.ExecDaemon, stream.Send, stream.Recv)
		send, recv = w.Send, w.Recv
	}
	if err := send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: &shimv1.ExecProcess{Args: []string{"x"}}}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		m, err := recv()
		if err != nil {
			return n, 0, err
		}
		if n == 1 {
			time.Sleep(ttrpcStall) // the reader falls behind: what the test is about
		}
		switch {
		case m.GetExit() != nil:
			return n, m.GetExit().GetExitCode(), nil
		case m.GetStdout() != nil:
			if got := m.GetStdout()[0]; got != byte(n) {
				t.Fatalf("stdout message %d carries %d: out of order", n, got)
			}
			n++
		default:
			t.Fatalf("read %v, want stdout or exit", m)
		}
	}
}

// A reader that falls seconds behind loses a bare ttrpc stream; with the
// window on both sides it gets every message, in order.
func TestWindowKeepsATTRPCStreamWhoseReaderStalls(t *testing.T) {
	const n = 500
	t.Run("bare", func(t *testing.T) {
		got, _, err := readAll(t, execClient(t, outputShim{n: n}), false)
		if err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("a bare ttrpc stream kept a reader that stalled %s (read %d of %d, %v): the test no longer shows what the window is for", ttrpcStall, got, n, err)
		}
	})
	t.Run("windowed", func(t *testing.T) {
		got, code, err := readAll(t, execClient(t, outputShim{n: n, windowed: true}), true)
		if err != nil || got != n || code != 3 {
			t.Fatalf("read %d of %d messages, exit %d, err %v; want all, exit 3", got, n, code, err)
		}
	})
}
