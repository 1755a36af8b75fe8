// Command podd-pause holds a pod's namespaces: it sleeps, reaps every child
// it inherits (it is PID 1 when the pod shares its PID namespace) and exits 0
// on SIGTERM or SIGINT. It links only the standard library and x/sys.
package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// init runs on the main thread, whose name is the process's.
func init() { nameAfterArgv0() }

func main() {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	reap()
	for sig := range sigs {
		if sig == unix.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}

// nameAfterArgv0 names the process (comm, what ps and top show) after its
// argv[0]: the shim execs podd-pause through /proc/self/fd/N, which would
// name it "N".
func nameAfterArgv0() {
	name, err := unix.BytePtrFromString(filepath.Base(os.Args[0]))
	if err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
}
