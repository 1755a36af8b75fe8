package libct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/shim/createchild"
)

// The shim creates and starts each container in a short-lived child,
// podd-create (package createchild), as containerd's shims run "runc
// create": libcontainer's create and start allocate far more than anything
// else the shim does, and a Go heap never gives back the spans and size
// classes such a spike leaves in use. The child exits once the container's
// init runs; the init, the child's child, is reparented to the shim (its
// child subreaper). The shim keeps only the spec, the config and the
// cgroup manager: it signals the init through a pidfd and updates the
// cgroup itself.

// createBinary is podd-create, beside the shim's own binary, opened once:
// every create child of this shim runs that file, even once an upgrade has
// replaced it by another version.
var createBinary = sync.OnceValues(func() (*os.File, error) {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", createchild.BinaryName, err)
	}
	f, err := os.Open(filepath.Join(filepath.Dir(self), createchild.BinaryName))
	if err != nil {
		return nil, fmt.Errorf("find %s beside the shim: %w", createchild.BinaryName, err)
	}
	return f, nil
})

// createChild runs the create child for c with stdio and returns the
// init's pid and, with a console, its terminal. created reports whether the
// child had created the container when it failed.
func (r *Runtime) createChild(c *Container, stdio Stdio, hold bool) (pid int, console *os.File, created bool, err error) {
	rq := createchild.Request{Root: r.root, ID: c.id, Process: c.spec.Process, Config: c.config, Hold: hold}
	// files are the child's stdio descriptors, in createchild.Fd* order.
	files := make([]*os.File, 4)
	var parentSock *os.File
	if stdio.Console {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return 0, nil, false, fmt.Errorf("console socket: %w", err)
		}
		defer child.Close()
		defer parent.Close()
		parentSock = parent
		files[createchild.FdConsole-3] = child
		rq.Console, rq.Width, rq.Height = true, stdio.Width, stdio.Height
	} else {
		files[createchild.FdStdin-3], files[createchild.FdStdout-3], files[createchild.FdStderr-3] = stdio.Stdin, stdio.Stdout, stdio.Stderr
		rq.Stdin, rq.Stdout, rq.Stderr = stdio.Stdin != nil, stdio.Stdout != nil, stdio.Stderr != nil
	}
	in, err := json.Marshal(&rq)
	if err != nil {
		return 0, nil, false, fmt.Errorf("encode create request: %w", err)
	}
	var ch *childProc
	if rc := r.takeReady(); rc != nil {
		if rc.inShimCgroups() && rc.send(in, files) == nil {
			ch = rc.proc
		} else {
			// Elsewhere, or dead before it read a thing: the container
			// is made by a child of its own.
			rc.discard()
		}
	}
	if ch == nil {
		ch = &childProc{}
		cmd, err := ch.command(createchild.Arg)
		if err != nil {
			return 0, nil, false, err
		}
		cmd.Stdin = bytes.NewReader(in)
		cmd.ExtraFiles = files
		if err := ch.start(); err != nil {
			return 0, nil, false, fmt.Errorf("create child: %w", err)
		}
	}
	runErr := ch.wait()
	var reply createchild.Reply
	for _, line := range bytes.Split(ch.out.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r createchild.Reply
		if err := json.Unmarshal(line, &r); err != nil {
			break
		}
		created = created || r.Created
		if r.Pid != 0 || r.Err != "" {
			reply = r
		}
	}
	switch {
	case reply.Err != "" && reply.CannotRun:
		return 0, nil, created, &cannotRunError{cause: reply.Err}
	case reply.Err != "":
		return 0, nil, created, errors.New(reply.Err)
	case runErr != nil || reply.Pid == 0:
		msg := strings.TrimSpace(ch.errOut.String())
		if runErr == nil {
			runErr = errors.New("it reported no init pid")
		}
		if msg != "" {
			return 0, nil, created, fmt.Errorf("create child: %w: %s", runErr, msg)
		}
		return 0, nil, created, fmt.Errorf("create child: %w", runErr)
	}
	if parentSock != nil {
		f, err := recvConsole(parentSock)
		if err == nil {
			console, err = pollable(f)
		}
		if err != nil {
			// The init is the shim's child: the caller kills it.
			return 0, nil, true, fmt.Errorf("receive console: %w", err)
		}
	}
	return reply.Pid, console, created, nil
}

// childProc is one create child: its process, its replies and the
// beginning of its stderr.
type childProc struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	errOut bytes.Buffer
	// The child is reaped once, by the first wait; none is waiting while a
	// ready child waits for its request (a goroutine blocked in wait4
	// holds an OS thread, which the Go runtime keeps for good).
	waitOnce sync.Once
	waitErr  error
}

// command sets up the child's command with args after the program name.
func (ch *childProc) command(args ...string) (*exec.Cmd, error) {
	bin, err := createBinary()
	if err != nil {
		return nil, fmt.Errorf("create child: %w", err)
	}
	ch.cmd = &exec.Cmd{
		// The open file, not its path, through the shim's descriptor
		// table: the child's own has been rearranged for its stdio
		// (ExtraFiles) by the time it execs, and the number may be one of
		// those.
		Path:   "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(bin.Fd())),
		Args:   append([]string{createchild.BinaryName}, args...),
		Stdout: &ch.out,
		Stderr: &limitedWriter{w: &ch.errOut, n: 4096},
		// A shim killed part-way takes its create child along; the daemon
		// then kills what is left in the pod cgroup.
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL},
	}
	return ch.cmd, nil
}

// start starts the child.
func (ch *childProc) start() error { return startOnForkThread(ch.cmd) }

// wait waits until the child is reaped and its output read.
func (ch *childProc) wait() error {
	ch.waitOnce.Do(func() { ch.waitErr = ch.cmd.Wait() })
	return ch.waitErr
}

// kill kills the child and waits for it.
func (ch *childProc) kill() {
	_ = ch.cmd.Process.Kill()
	_ = ch.wait()
}

// A ready child is a create child started before its request, when a
// container's creation is to come (PrepareEarly: a spare waiting for its
// pod; PrepareCreate: the pod's pause is starting), so that its exec and
// the Go runtime's start are not part of that container's start (see
// createchild.ReadyArg). One that is not used within readyChildTTL is
// killed: it holds memory for nothing.

// readyChildTTL is how long a ready child waits for its request.
var readyChildTTL = 10 * time.Second

type readyChild struct {
	proc *childProc
	// sock is the shim's end of the child's stdin.
	sock  *os.File
	timer *time.Timer
}

// PrepareCreate starts a ready create child unless one is waiting: a
// container's creation is coming. Failing to start one costs only time.
func (r *Runtime) PrepareCreate() {
	r.readyMu.Lock()
	defer r.readyMu.Unlock()
	if r.ready != nil {
		return
	}
	rc, err := startReady()
	if err != nil {
		return
	}
	r.adoptLocked(rc)
}

// adoptLocked makes rc the runtime's ready child, killed after
// readyChildTTL unless used. readyMu is held.
func (r *Runtime) adoptLocked(rc *readyChild) {
	rc.timer = time.AfterFunc(readyChildTTL, func() {
		if r.takeReadyIf(rc) {
			rc.discard()
		}
	})
	r.ready = rc
}

// early is the ready child a spare shim starts while it waits for its pod
// (PrepareEarly), for the runtime to adopt.
var early struct {
	sync.Mutex
	rc *readyChild
}

// PrepareEarly starts a ready create child before the shim has its pod: a
// spare does, while it waits, so that its pod's first container finds one
// that has long started. NewRuntime adopts it.
func PrepareEarly() {
	rc, err := startReady()
	if err != nil {
		return
	}
	early.Lock()
	early.rc = rc
	early.Unlock()
}

// takeEarly returns (and forgets) the child PrepareEarly started, nil if
// none.
func takeEarly() *readyChild {
	early.Lock()
	defer early.Unlock()
	rc := early.rc
	early.rc = nil
	return rc
}

// startReady starts a ready create child.
func startReady() (*readyChild, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "create-request"), os.NewFile(uintptr(fds[1]), "create-request")
	defer theirs.Close()
	ch := &childProc{}
	cmd, err := ch.command(createchild.Arg, createchild.ReadyArg)
	if err != nil {
		ours.Close()
		return nil, err
	}
	cmd.Stdin = theirs
	if err := ch.start(); err != nil {
		ours.Close()
		return nil, err
	}
	return &readyChild{proc: ch, sock: ours}, nil
}

// inShimCgroups reports whether the ready child is in the shim's cgroups.
// A spare's is started in the spare's cgroup and moved along with it when
// the daemon binds the spare (shimdir.MoveCgroup), unless it was forked
// while the daemon moved the spare itself.
func (rc *readyChild) inShimCgroups() bool {
	mine, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return false
	}
	its, err := os.ReadFile("/proc/" + strconv.Itoa(rc.proc.cmd.Process.Pid) + "/cgroup")
	return err == nil && bytes.Equal(mine, its)
}

// takeReady returns (and forgets) the ready child, nil if none.
func (r *Runtime) takeReady() *readyChild {
	r.readyMu.Lock()
	defer r.readyMu.Unlock()
	rc := r.ready
	r.ready = nil
	if rc != nil {
		rc.timer.Stop()
	}
	return rc
}

// takeReadyIf forgets rc if it is still the ready child.
func (r *Runtime) takeReadyIf(rc *readyChild) bool {
	r.readyMu.Lock()
	defer r.readyMu.Unlock()
	if r.ready != rc {
		return false
	}
	r.ready = nil
	return true
}

// discard kills an unused ready child.
func (rc *readyChild) discard() {
	rc.sock.Close()
	rc.proc.kill()
}

// send gives the ready child its stdio descriptors (those of files that
// are set, in order) and request in, then closes its stdin.
func (rc *readyChild) send(in []byte, files []*os.File) error {
	var fds []int
	for _, f := range files {
		if f != nil {
			fds = append(fds, int(f.Fd()))
		}
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(int(rc.sock.Fd()), []byte{'r'}, oob, nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("send the create child its descriptors: %w", err)
	}
	if _, err := rc.sock.Write(in); err != nil {
		return fmt.Errorf("send the create child its request: %w", err)
	}
	return rc.sock.Close()
}

// forkThread runs the functions sent to it on one OS thread that never
// exits (startOnForkThread).
var forkThread = sync.OnceValue(func() chan<- func() {
	fns := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the shim
		for fn := range fns {
			fn()
		}
	}()
	return fns
})

// startOnForkThread starts cmd, a create child, from forkThread. A child's
// parent-death signal follows the thread that forked it, not the shim, and
// the shim ends threads (a goroutine that locked its thread and returns
// ends it: the pause's holder, the seccomp read at a container's first
// exec): a create child forked from a thread that such a goroutine later
// took would be killed with it, half-way through a container's creation.
func startOnForkThread(cmd *exec.Cmd) error {
	var err error
	done := make(chan struct{})
	forkThread() <- func() {
		defer close(done)
		err = cmd.Start()
	}
	<-done
	return err
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
