package window_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/window"
)

// pipe connects a daemon's and a shim's side of Exec through queues as
// deep as a test needs, counting the grants each side sends.
type pipe struct {
	toShim   chan *shimv1.ExecRequest
	toDaemon chan *shimv1.ExecResponse
	// shimGrants and daemonGrants count the window messages sent.
	shimGrants, daemonGrants atomic.Int32
}

func newPipe() *pipe {
	return &pipe{toShim: make(chan *shimv1.ExecRequest, 1000), toDaemon: make(chan *shimv1.ExecResponse, 1000)}
}

func (p *pipe) sides(ctx context.Context) (*window.Stream[*shimv1.ExecRequest, *shimv1.ExecResponse], *window.Stream[*shimv1.ExecResponse, *shimv1.ExecRequest]) {
	daemon := window.New(ctx, window.ExecDaemon,
		func(m *shimv1.ExecRequest) error {
			if m.GetWindow() > 0 {
				p.daemonGrants.Add(1)
			}
			p.toShim <- m
			return nil
		},
		func() (*shimv1.ExecResponse, error) { return <-p.toDaemon, nil })
	shim := window.New(ctx, window.ExecShim,
		func(m *shimv1.ExecResponse) error {
			if m.GetWindow() > 0 {
				p.shimGrants.Add(1)
			}
			p.toDaemon <- m
			return nil
		},
		func() (*shimv1.ExecRequest, error) { return <-p.toShim, nil })
	return daemon, shim
}

func stdout(b string) *shimv1.ExecResponse {
	return &shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Stdout{Stdout: []byte(b)}}
}

// sendAsync sends m from a goroutine and reports when the send returned.
func sendAsync(t *testing.T, send func(*shimv1.ExecResponse) error, m *shimv1.ExecResponse) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- send(m) }()
	return done
}

// A reader that does not read holds its peer to window.Size counted
// messages; uncounted ones (the exit) still go; reading half the window
// lets as many more go.
func TestWindowHoldsTheSenderToTheWindow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPipe()
	daemon, shim := p.sides(ctx)
	for i := range window.Size {
		if err := shim.Send(stdout("x")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	blocked := sendAsync(t, shim.Send, stdout("over"))
	select {
	case err := <-blocked:
		t.Fatalf("send past the window returned (%v) with nothing read", err)
	case <-time.After(100 * time.Millisecond):
	}
	// The daemon reads half the window: its Recv grants it back.
	for range window.Size / 2 {
		if _, err := daemon.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-blocked; err != nil {
		t.Fatalf("send after the grant: %v", err)
	}
	// Room for Size/2 in all, the one that waited included.
	for i := 1; i < window.Size/2; i++ {
		if err := shim.Send(stdout("y")); err != nil {
			t.Fatal(err)
		}
	}
	blocked = sendAsync(t, shim.Send, stdout("over again"))
	select {
	case err := <-blocked:
		t.Fatalf("send past the granted window returned (%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	exit := &shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Exit{Exit: &shimv1.ExecExit{}}}
	if err := shim.Send(exit); err != nil {
		t.Fatalf("the exit, which does not count, waits for credit: %v", err)
	}
	cancel()
	if err := <-blocked; err == nil {
		t.Fatal("a send waiting for credit did not end with its context")
	}
}

// The daemon's input is held the same way, and the grants go unseen by
// either side's caller.
func TestWindowHoldsInputAndHidesGrants(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPipe()
	daemon, shim := p.sides(ctx)
	stdin := &shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Stdin{Stdin: []byte("in")}}
	const n = 5 * window.Size
	var count atomic.Int32
	sent := make(chan error, 1)
	go func() {
		for range n {
			if err := daemon.Send(stdin); err != nil {
				sent <- err
				return
			}
			count.Add(1)
		}
		sent <- nil
	}()
	for i := range n {
		m, err := shim.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetWindow() != 0 || m.GetStdin() == nil {
			t.Fatalf("message %d the shim read is %v, want stdin", i, m)
		}
		// Sent and not yet read: at most the window (the send counted
		// after it returned, so one more may have gone).
		if q := int(count.Load()) - i; q > window.Size+1 {
			t.Fatalf("%d input messages sent and not read, over the window", q)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if g := p.shimGrants.Load(); g < n/(window.Size/2)-1 {
		t.Fatalf("the shim granted %d times for %d messages", g, n)
	}
	go func() { _ = shim.Send(stdout("out")) }()
	m, err := daemon.Recv()
	if err != nil || m.GetStdout() == nil {
		t.Fatalf("daemon read %v, %v; want the stdout after the grants", m, err)
	}
}

// CloseSend stops Send but not the grants the other side needs to go on.
func TestWindowGrantsAfterCloseSend(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPipe()
	daemon, shim := p.sides(ctx)
	daemon.CloseSend()
	if err := daemon.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_CloseStdin{CloseStdin: true}}); err == nil {
		t.Fatal("send after CloseSend succeeded")
	}
	done := make(chan error, 1)
	go func() {
		for range 4 * window.Size {
			if err := shim.Send(stdout("x")); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 4 * window.Size {
		if _, err := daemon.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.daemonGrants.Load() == 0 {
		t.Fatal("no grant went out after CloseSend")
	}
}
