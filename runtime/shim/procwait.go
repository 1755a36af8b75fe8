package shim

import (
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// waitCmd waits for cmd, a started child, to exit and reaps it. It waits on
// a pidfd through the runtime's poller, not in a blocking wait: a blocked
// wait holds an OS thread for the whole life of the child, and a daemon
// with 200 pods held 200 threads for its shims (each with its stacks, some
// 50 KiB; issue 13). Without pidfds (Linux before 5.10) it blocks as
// cmd.Wait does.
func waitCmd(cmd *exec.Cmd) error {
	fd, err := unix.PidfdOpen(cmd.Process.Pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return cmd.Wait()
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err == nil {
		// A pidfd is readable once its process has exited. Read calls the
		// func again each time the poller says so, until it returns true.
		err = rc.Read(func(fd uintptr) bool {
			var info unix.Siginfo
			err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			return err != nil || info.Signo != 0
		})
	}
	_ = err // on any failure cmd.Wait below blocks instead
	// The child has exited (or the poller failed): reap it.
	return cmd.Wait()
}
