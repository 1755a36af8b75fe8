package libct

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/shim/createchild"
)

// execFifo is libcontainer's exec fifo in a container's state dir: the
// init of a held container (Hold) waits to open it for writing, writes one
// byte and execs the user's program.
const execFifo = "exec.fifo"

// errInitGone is a held init that ended before its release.
var errInitGone = errors.New("the container's init ended before its release")

// Release lets the init of a held container exec the user's program, as
// `runc start` does, and returns once it has. Unlike libcontainer's Exec it
// never blocks on the fifo: it opens it read-write (which never waits for
// the other side) and watches the init's pidfd beside it, so an init that
// died makes it fail at once. On failure the container is left as it is;
// the caller kills it.
func (c *Container) Release(ctx context.Context) error {
	c.execMu.Lock()
	var pidfd int = -1
	if c.initPidfd != nil {
		pidfd = int(c.initPidfd.Fd())
	}
	pid := c.initPid
	c.execMu.Unlock()
	if pidfd < 0 {
		return fmt.Errorf("start container %q: %w", c.id, errInitGone)
	}
	path := filepath.Join(c.rt.root, c.id, execFifo)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start container %q: open exec fifo: %w", c.id, err)
	}
	defer unix.Close(fd)
	if err := awaitFifoByte(ctx, fd, pidfd); err != nil {
		return fmt.Errorf("start container %q: %w", c.id, err)
	}
	_ = os.Remove(path)
	createchild.WaitExecve(pid)
	return nil
}

// awaitFifoByte waits until the init writes its byte to the fifo fd, the
// init (pidfd) ends or ctx is done.
func awaitFifoByte(ctx context.Context, fd, pidfd int) error {
	buf := make([]byte, 1)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			return nil
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("read exec fifo: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 100); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait on exec fifo: %w", err)
		}
		if fds[0].Revents&unix.POLLIN == 0 && fds[1].Revents != 0 {
			// The init ended; a byte it wrote just before is still there.
			if n, _ := unix.Read(fd, buf); n > 0 {
				return nil
			}
			return errInitGone
		}
	}
}
