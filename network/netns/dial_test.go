package netns

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// listenIn listens on 127.0.0.1:0 inside the namespace pinned at path.
func listenIn(t *testing.T, path string) net.Listener {
	t.Helper()
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies in the namespace
		f, err := os.Open(path)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		done <- result{l, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.l.Close() })
	return r.l
}

// Dial reaches a listener on the loopback of the pinned namespace, and a
// port nobody listens on there is refused even when the host's loopback has
// a listener on it.
func TestDialReachesTheNamespacesLoopback(t *testing.T) {
	testutil.RequireRoot(t)
	path, err := Create(newPinDir(t), "dial")
	if err != nil {
		t.Fatal(err)
	}
	l := listenIn(t, path)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("inside"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := Dial(ctx, path, "tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	conn.Close()
	if err != nil || string(b) != "inside" {
		t.Fatalf("read %q, %v", b, err)
	}

	host, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if c, err := Dial(ctx, path, "tcp4", host.Addr().String()); !errors.Is(err, unix.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial a port only the host listens on: %v, want connection refused", err)
	}
	if c, err := Dial(ctx, "", "tcp4", host.Addr().String()); err != nil {
		t.Fatalf("dial in the caller's namespace: %v", err)
	} else {
		c.Close()
	}
}

func TestDialNamesABadNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	_, err := Dial(context.Background(), "/nonexistent/netns", "tcp4", "127.0.0.1:1")
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dial in a missing namespace: %v", err)
	}
}
