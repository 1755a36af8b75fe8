// Package procwait waits for a process to end without holding an OS
// thread for it.
package procwait

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// AwaitExit returns once child process pid has ended (it stays a zombie
// until reaped), or at once when that cannot be watched (no pidfds: Linux
// before 5.10; then the caller's reaping wait blocks instead). It waits on a
// pidfd in the runtime's poller: os.Process.Wait blocks an OS thread in
// wait(2) for the whole life of the process, so every container of a pod
// held a thread of its shim, and the daemon one per shim.
func AwaitExit(pid int) {
	_ = onPidfd(context.Background(), pid, func(fd int) (bool, error) {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		// With WNOHANG the kernel leaves si_signo zero while the child
		// runs; an error (not a child, gone) has nothing to wait for.
		return err != nil || info.Signo != 0, nil
	})
}

// ErrUnwatchable says AwaitEnd could not watch the process (no pidfds:
// Linux before 5.3); the caller falls back to asking whether it runs.
var ErrUnwatchable = errors.New("process cannot be watched")

// AwaitEnd returns nil once process pid, which need not be a child of this
// one, has ended (a zombie has ended) or when no process pid exists; ctx's
// error when ctx ends first. It waits on a pidfd in the runtime's poller,
// which the kernel wakes at the exit: no polling.
func AwaitEnd(ctx context.Context, pid int) error {
	err := onPidfd(ctx, pid, func(fd int) (bool, error) {
		// A pidfd polls readable once its process has ended.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			return false, nil
		}
		return n > 0, err
	})
	if errors.Is(err, unix.ESRCH) {
		return nil // no such process: it has ended
	}
	return err
}

// onPidfd waits in the runtime's poller on a pidfd of pid until ended says
// the wait is over (asked at once, then each time the pidfd polls
// readable), ended fails, or ctx ends (its error). A pidfd that cannot be
// had is ErrUnwatchable, wrapping why (ESRCH: no process pid).
func onPidfd(ctx context.Context, pid int, ended func(fd int) (bool, error)) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("%w: pidfd of %d: %w", ErrUnwatchable, pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("%w: pidfd of %d: %w", ErrUnwatchable, pid, err)
	}
	// A deadline in the past wakes the poller's wait when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var endErr error
	err = rc.Read(func(fd uintptr) bool {
		var done bool
		done, endErr = ended(int(fd))
		return done || endErr != nil
	})
	switch {
	case endErr != nil:
		return fmt.Errorf("wait on pidfd of %d: %w", pid, endErr)
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("wait on pidfd of %d: %w", pid, err)
	}
	return nil
}
