package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Dial connects to address over network ("tcp4", "tcp6", ...) from inside
// the network namespace pinned at path; "" is the caller's own namespace.
// The socket is made on an OS thread moved into that namespace and locked
// to the dialing goroutine, never unlocked: the thread exits with it, so no
// other goroutine ever runs there. The connection stays in the namespace.
func Dial(ctx context.Context, path, network, address string) (net.Conn, error) {
	var d net.Dialer
	if path == "" {
		return d.DialContext(ctx, network, address)
	}
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			done <- result{err: fmt.Errorf("open network namespace %q: %w", path, err)}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("enter network namespace %q: %w", path, err)}
			return
		}
		conn, err := d.DialContext(ctx, network, address)
		done <- result{conn: conn, err: err}
	}()
	r := <-done
	return r.conn, r.err
}
