package libct

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stopTimeout bounds the wait for a traced container init to stop.
const stopTimeout = 2 * time.Second

// dumpSeccomp returns the seccomp program libcontainer loaded into the
// container's init (pid), read back from the kernel with
// PTRACE_SECCOMP_GET_FILTER: byte for byte what the container runs under,
// runc's ENOSYS stub included. Compiling the profile again would not do:
// runc lays its stub out in Go map order, differently at each compile. The
// init is stopped for the read (like a debugger's attach) and released at
// once. Filters it loaded itself later are newer and left out; so are the
// shim's own, which every process of the shim inherits anyway.
func dumpSeccomp(pid int) ([]unix.SockFilter, error) {
	own, err := ownSeccompFilters()
	if err != nil {
		return nil, err
	}
	type result struct {
		prog []unix.SockFilter
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		// ptrace requests must come from the tracing thread. The thread is
		// never unlocked: it exits with this goroutine, and a tracer's exit
		// detaches its tracee whatever went wrong here.
		runtime.LockOSThread()
		prog, err := traceSeccomp(pid, own)
		ch <- result{prog, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("read the seccomp filter of the container's init %d: %w", pid, r.err)
	}
	return r.prog, nil
}

// ownSeccompFilters counts the seccomp filters the shim runs under.
func ownSeccompFilters() (int, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Seccomp_filters:")); ok {
			return strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return 0, nil
}

func traceSeccomp(pid, own int) ([]unix.SockFilter, error) {
	if err := unix.PtraceSeize(pid); err != nil {
		return nil, fmt.Errorf("ptrace seize: %w", err)
	}
	if err := ptrace(unix.PTRACE_INTERRUPT, pid, 0, nil); err != nil {
		return nil, fmt.Errorf("ptrace interrupt: %w", err)
	}
	if err := waitTraceStop(pid); err != nil {
		return nil, err
	}
	prog, err := oldestFilter(pid, own)
	if derr := unix.PtraceDetach(pid); derr != nil && err == nil {
		err = fmt.Errorf("ptrace detach: %w", derr)
	}
	return prog, err
}

// waitTraceStop waits for the traced pid to stop. It asks for stops only:
// the init is the shim's child, and its exit is its waiter's to reap.
func waitTraceStop(pid int) error {
	deadline := time.Now().Add(stopTimeout)
	for delay := 20 * time.Microsecond; ; delay = min(2*delay, 5*time.Millisecond) {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOHANG|unix.WALL, nil)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait for the traced process to stop: %w", err)
		}
		if err == nil && info.Signo != 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the traced process did not stop within %v", stopTimeout)
		}
		time.Sleep(delay)
	}
}

// oldestFilter returns the oldest of pid's filters beyond the first own
// (inherited from the shim), or none.
func oldestFilter(pid, own int) ([]unix.SockFilter, error) {
	n := 0
	for ; ; n++ {
		_, err := getFilter(pid, n, nil)
		if errors.Is(err, unix.ENOENT) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("seccomp filter %d: %w", n, err)
		}
	}
	// Index 0 is the newest filter.
	i := n - 1 - own
	if i < 0 {
		return nil, fmt.Errorf("it runs under no seccomp filter of its own")
	}
	size, err := getFilter(pid, i, nil)
	if err != nil {
		return nil, fmt.Errorf("seccomp filter %d: %w", i, err)
	}
	prog := make([]unix.SockFilter, size)
	if _, err := getFilter(pid, i, prog); err != nil {
		return nil, fmt.Errorf("seccomp filter %d: %w", i, err)
	}
	return prog, nil
}

// getFilter is PTRACE_SECCOMP_GET_FILTER: the instruction count of
// filter i, copied into prog when it is not nil.
func getFilter(pid, i int, prog []unix.SockFilter) (int, error) {
	var p unsafe.Pointer
	if len(prog) > 0 {
		p = unsafe.Pointer(&prog[0])
	}
	n, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(i), uintptr(p), 0, 0)
	runtime.KeepAlive(prog)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func ptrace(req, pid int, addr uintptr, data unsafe.Pointer) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, uintptr(data), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
