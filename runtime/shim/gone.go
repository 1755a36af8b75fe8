package shim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// ErrGone marks evidence that a shim no longer runs. A shim that answers
// slowly, or not at all within a deadline, is not gone: only this error
// lets the daemon give up on a sandbox.
var ErrGone = errors.New("shim is gone")

// refusedTries is how many refused connections in a row prove that nothing
// serves a shim's socket.
const refusedTries = 3

// Gone looks for evidence that the shim of stateDir no longer runs: its
// socket is missing, the process its pid file names has exited (or is no
// longer this shim), or its socket refuses every one of a few connections.
// It returns an error wrapping ErrGone that says which, or nil when the shim
// may still run (slow, busy or starting).
func Gone(ctx context.Context, stateDir string) error {
	sock, err := socketPath(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: its socket %s does not exist", ErrGone, sock)
	}
	if pid, ok := shimdir.RecordedPid(stateDir); ok {
		if _, isShim := shimdir.ShimPid(stateDir); !isShim {
			return fmt.Errorf("%w: its process %d has exited", ErrGone, pid)
		}
	}
	for i := 0; i < refusedTries; i++ {
		if !refused(ctx, sock) {
			return nil
		}
		if i < refusedTries-1 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return fmt.Errorf("%w: its socket %s refuses connections", ErrGone, sock)
}

// refused reports whether connecting to sock is refused: nothing listens on
// it. A timeout or a full backlog (EAGAIN) is not a refusal.
func refused(ctx context.Context, sock string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
