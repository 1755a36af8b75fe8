package check

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestTCPSocket_R48(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	if res, out, err := TCPSocket(context.Background(), "127.0.0.1", port, time.Second); res != Success || err != nil {
		t.Fatalf("listening: TCPSocket = (%v, %q, %v), want Success", res, out, err)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	if res, out, err := TCPSocket(context.Background(), "127.0.0.1", closedPort, time.Second); res != Failure || err != nil || out == "" {
		t.Fatalf("closed: TCPSocket = (%v, %q, %v), want Failure with the dial error", res, out, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, _, err := TCPSocket(ctx, "127.0.0.1", port, time.Second); res != Unknown || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: TCPSocket = (%v, %v), want Unknown", res, err)
	}
}
