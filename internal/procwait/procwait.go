// Package procwait waits for a child process to end without holding an OS
// thread for it.
package procwait

import (
	"os"

	"golang.org/x/sys/unix"
)

// AwaitExit returns once child process pid has ended (it stays a zombie
// until reaped), or at once when that cannot be watched (no pidfds: Linux
// before 5.10; then the caller's reaping wait blocks instead). It waits on a
// pidfd in the runtime's poller: os.Process.Wait blocks an OS thread in
// wait(2) for the whole life of the process, so every container of a pod
// held a thread of its shim, and the daemon one per shim.
func AwaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// Read calls the function again each time the pidfd polls readable
	// (the process ended); an error (not pollable) ends the wait too.
	_ = rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		// With WNOHANG the kernel leaves si_signo zero while the child
		// runs; an error (not a child, gone) has nothing to wait for.
		return err != nil || info.Signo != 0
	})
}
