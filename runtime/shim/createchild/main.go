package createchild

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/procstat"
)

// Main is the create child: it reads a Request on stdin, creates and
// starts the container, writes Reply lines on stdout and exits, leaving the
// init running. It never returns.
func Main() {
	out := json.NewEncoder(os.Stdout)
	if err := createContainer(out); err != nil {
		reply := Reply{Err: err.Error()}
		if cause, ok := CannotRunCause(err); ok {
			reply = Reply{Err: cause, CannotRun: true}
		}
		_ = out.Encode(&reply)
		os.Exit(1)
	}
	os.Exit(0)
}

func createContainer(out *json.Encoder) error {
	// fds are the child's stdio descriptors, in Fd* order.
	fds := []int{FdStdin, FdStdout, FdStderr, FdConsole}
	ready := len(os.Args) > 2 && os.Args[2] == ReadyArg
	if ready {
		got, err := awaitDescriptors()
		if err != nil {
			return err
		}
		if got == nil {
			// The shim closed the socket without a request (it discarded
			// this child, or ends).
			os.Exit(0)
		}
		fds = got
	} else {
		// The descriptors the shim passed must not reach the container's
		// processes (libcontainer hands the init only what it is given).
		for _, fd := range fds {
			unix.CloseOnExec(fd)
		}
	}
	var req Request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("read create request: %w", err)
	}
	if req.ID == "" || req.Process == nil || req.Config == nil {
		return errors.New("read create request: it lacks the container's id, process or config")
	}
	if ready {
		// The descriptors came in order, those the request has.
		var err error
		if fds, err = placeDescriptors(fds, []bool{req.Stdin, req.Stdout, req.Stderr, req.Console}); err != nil {
			return err
		}
	}
	id := req.ID
	createFault(req.Root, "build", 0)
	if err := clearStale(req.Root, id); err != nil {
		return err
	}
	lc, err := libcontainer.Create(req.Root, id, req.Config)
	if err != nil {
		return fmt.Errorf("create container %q: %w", id, err)
	}
	if err := out.Encode(&Reply{Created: true}); err != nil {
		_ = lc.Destroy()
		return err
	}
	createFault(req.Root, "created", 0)
	stdio := childStdio{width: req.Width, height: req.Height}
	file := func(set bool, fd int, name string) *os.File {
		if !set {
			return nil
		}
		return os.NewFile(uintptr(fd), name)
	}
	stdio.stdin = file(req.Stdin, fds[0], "stdin")
	stdio.stdout = file(req.Stdout, fds[1], "stdout")
	stdio.stderr = file(req.Stderr, fds[2], "stderr")
	stdio.consoleSock = file(req.Console, fds[3], "console-socket")
	pid, err := run(lc, newInitProcess(req.Process), stdio, req.Hold)
	if err != nil {
		_ = lc.Destroy()
		return err
	}
	createFault(req.Root, "started", pid)
	return out.Encode(&Reply{Pid: pid})
}

// awaitDescriptors waits on stdin, the ready child's socket, for the
// message that carries its stdio descriptors (close-on-exec); nil when the
// shim closed the socket instead.
func awaitDescriptors() ([]int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(0, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read create request descriptors: %w", err)
		}
		if n == 0 {
			return nil, nil
		}
		var fds []int
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, fmt.Errorf("read create request descriptors: %w", err)
		}
		for _, m := range msgs {
			got, err := unix.ParseUnixRights(&m)
			if err != nil {
				return nil, fmt.Errorf("read create request descriptors: %w", err)
			}
			fds = append(fds, got...)
		}
		return fds, nil
	}
}

// placeDescriptors puts the descriptors got, sent in order for the
// stdio streams set, at their stream's place (-1 for those not set).
func placeDescriptors(got []int, set []bool) ([]int, error) {
	out := make([]int, len(set))
	i := 0
	for k, ok := range set {
		out[k] = -1
		if !ok {
			continue
		}
		if i == len(got) {
			return nil, fmt.Errorf("read create request: %d descriptors for %d streams", len(got), i+1)
		}
		out[k] = got[i]
		i++
	}
	if i != len(got) {
		return nil, fmt.Errorf("read create request: %d descriptors for %d streams", len(got), i)
	}
	return out, nil
}

// childStdio is the create child's view of Stdio.
type childStdio struct {
	stdin, stdout, stderr *os.File
	consoleSock           *os.File
	width, height         uint16
}

// clearStale destroys what a crashed shim left of container id: state of a
// container that no longer runs (stopped, or created and never started)
// would make Create fail with "container with given ID already exists"
// forever. A container that still runs is an error, never destroyed.
func clearStale(root, id string) error {
	lc, err := libcontainer.Load(root, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil
	}
	if err != nil {
		// A state dir libcontainer cannot read back is nobody's.
		if rmErr := os.RemoveAll(filepath.Join(root, id)); rmErr != nil {
			return fmt.Errorf("remove unreadable stale state of container %q: %w (after %w)", id, rmErr, err)
		}
		return nil
	}
	st, err := lc.Status()
	if err != nil {
		return fmt.Errorf("status of stale container %q: %w", id, err)
	}
	if st == libcontainer.Running || st == libcontainer.Paused {
		return fmt.Errorf("create container %q: one with this ID is still %s", id, st)
	}
	if err := lc.Destroy(); err != nil {
		return fmt.Errorf("destroy stale state of container %q (%s): %w", id, st, err)
	}
	return nil
}

// newInitProcess is libcontainer's description of the container's init.
func newInitProcess(base *specs.Process) *libcontainer.Process {
	groups := make([]int, 0, len(base.User.AdditionalGids))
	for _, g := range base.User.AdditionalGids {
		groups = append(groups, int(g))
	}
	return &libcontainer.Process{
		Args: base.Args, Env: base.Env, Cwd: base.Cwd,
		UID: int(base.User.UID), GID: int(base.User.GID), AdditionalGroups: groups,
		Init: true,
	}
}

// run starts p, the container's init, in the create child: the console
// (sent by the init over stdio's console socket) is the shim's to receive.
// With hold it returns once the init waits on the exec fifo.
func run(lc *libcontainer.Container, p *libcontainer.Process, stdio childStdio, hold bool) (int, error) {
	if stdio.consoleSock != nil {
		p.ConsoleSocket = stdio.consoleSock
		p.ConsoleWidth, p.ConsoleHeight = stdio.width, stdio.height
	} else {
		if stdio.stdin != nil {
			p.Stdin = stdio.stdin
		}
		if stdio.stdout != nil {
			p.Stdout = stdio.stdout
		}
		if stdio.stderr != nil {
			p.Stderr = stdio.stderr
		}
	}
	do := lc.Run
	if hold {
		do = lc.Start
	}
	if err := do(p); err != nil {
		return 0, err
	}
	pid, err := p.Pid()
	if err != nil {
		_ = p.Signal(unix.SIGKILL)
		return 0, err
	}
	if !hold {
		WaitExecve(pid)
	}
	return pid, nil
}

// initComm is the name nsexec gives a container process until it execs the
// user's program.
const initComm = "runc:[2:INIT]"

// WaitExecve waits (briefly) until process pid has exec'd the user's
// program. libcontainer returns when its init is about to exec; a signal
// arriving before the exec would hit the Go init (which dies of SIGTERM
// with status 2) instead of the program, which may ignore or trap it.
func WaitExecve(pid int) {
	deadline := time.Now().Add(5 * time.Second)
	for delay := 100 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 10*time.Millisecond) {
		st, err := procstat.Read(pid)
		if err != nil || st.Ended() || st.Comm != initComm {
			return
		}
		time.Sleep(delay)
	}
}
