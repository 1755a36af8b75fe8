package libct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// The shim creates and starts each container in a short-lived child, the
// shim binary run as createChildArg, as containerd's shims run "runc
// create": libcontainer's create and start allocate far more than anything
// else the shim does, and a Go heap never gives back the spans and size
// classes such a spike leaves in use. The child exits once the container's
// init runs; the init, the child's child, is reparented to the shim (its
// child subreaper). The shim keeps only the spec, the config and the
// cgroup manager: it signals the init through a pidfd and updates the
// cgroup itself.
const createChildArg = "create-container"

// IsCreateChild reports whether this process is a shim's create child.
func IsCreateChild() bool { return len(os.Args) > 1 && os.Args[1] == createChildArg }

// createRequest is what the create child is given on its stdin.
type createRequest struct {
	Root string
	// Config is the shimv1.ContainerConfig, marshalled.
	Config []byte
	// NsPids are the init pids of the containers whose namespaces this one
	// joins, as the shim resolved them.
	NsPids         map[string]int
	Nofile         uint64
	MinOOMScoreAdj int
	MemlockCur     uint64
	MemlockMax     uint64
	// Which of the child's stdio descriptors (childFd*) are given.
	Stdin, Stdout, Stderr, Console bool
	Width, Height                  uint16
	// Hold stops the init before it execs the user's program (see Hold).
	Hold bool `json:",omitempty"`
}

// createReply is one line the create child writes on its stdout: Created
// once libcontainer has created the container (from then on a failure
// leaves something to destroy), then either Pid or Err.
type createReply struct {
	Created   bool   `json:",omitempty"`
	Pid       int    `json:",omitempty"`
	Err       string `json:",omitempty"`
	CannotRun bool   `json:",omitempty"`
}

// The create child's descriptors beyond 0 (request), 1 (replies) and 2.
const (
	childFdStdin = 3 + iota
	childFdStdout
	childFdStderr
	childFdConsole
)

// createChild runs the create child for req with stdio and returns the
// init's pid and, with a console, its terminal. created reports whether the
// child had created the container when it failed.
func (r *Runtime) createChild(req *createRequest, stdio Stdio, hold bool) (pid int, console *os.File, created bool, err error) {
	rq := *req
	rq.Hold = hold
	// files are the child's stdio descriptors, in childFd order.
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
		files[childFdConsole-3] = child
		rq.Console, rq.Width, rq.Height = true, stdio.Width, stdio.Height
	} else {
		files[childFdStdin-3], files[childFdStdout-3], files[childFdStderr-3] = stdio.Stdin, stdio.Stdout, stdio.Stderr
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
		cmd := ch.command(createChildArg)
		cmd.Stdin = bytes.NewReader(in)
		cmd.ExtraFiles = files
		if err := ch.start(); err != nil {
			return 0, nil, false, fmt.Errorf("create child: %w", err)
		}
	}
	runErr := ch.wait()
	var reply createReply
	for _, line := range bytes.Split(ch.out.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r createReply
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
func (ch *childProc) command(args ...string) *exec.Cmd {
	ch.cmd = &exec.Cmd{
		Path:   "/proc/self/exe",
		Args:   append([]string{"podd-shim"}, args...),
		Stdout: &ch.out,
		Stderr: &limitedWriter{w: &ch.errOut, n: 4096},
		// A shim killed part-way takes its create child along; the daemon
		// then kills what is left in the pod cgroup.
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL},
	}
	return ch.cmd
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
// the Go runtime's start (some 20 ms of a container's start on a 2-core
// host) are not part of that container's start. It waits on a socket (its stdin) for the
// descriptors of its stdio (one message, SCM_RIGHTS) and then its
// request, and from then on is any create child. One that is not used
// within readyChildTTL is killed: it holds memory for nothing.
const readyChildArg = "ready"

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
	ch.command(createChildArg, readyChildArg).Stdin = theirs
	if err := ch.start(); err != nil {
		ours.Close()
		return nil, err
	}
	return &readyChild{proc: ch, sock: ours}, nil
}

// inShimCgroups reports whether the ready child is in the shim's cgroups.
// A spare's is started in the spare's cgroup and moved along with it when
// the daemon binds the spare (shim.MoveCgroup), unless it was forked
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

// CreateChildMain is the create child: it reads a createRequest on stdin,
// creates and starts the container, writes createReply lines on stdout and
// exits, leaving the init running. It never returns.
func CreateChildMain() {
	out := json.NewEncoder(os.Stdout)
	if err := createChildMain(out); err != nil {
		var cannot *cannotRunError
		_ = out.Encode(&createReply{Err: err.Error(), CannotRun: errors.As(err, &cannot)})
		os.Exit(1)
	}
	os.Exit(0)
}

func createChildMain(out *json.Encoder) error {
	// fds are the child's stdio descriptors, in childFd order.
	fds := []int{childFdStdin, childFdStdout, childFdStderr, childFdConsole}
	ready := len(os.Args) > 2 && os.Args[2] == readyChildArg
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
	var req createRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("read create request: %w", err)
	}
	if ready {
		// The descriptors came in order, those the request has.
		var err error
		if fds, err = placeDescriptors(fds, []bool{req.Stdin, req.Stdout, req.Stderr, req.Console}); err != nil {
			return err
		}
	}
	cfg := &shimv1.ContainerConfig{}
	if err := proto.Unmarshal(req.Config, cfg); err != nil {
		return fmt.Errorf("decode container config: %w", err)
	}
	id := cfg.GetId()
	spec, config, err := req.build(cfg, func(id string) (int, error) {
		pid, ok := req.NsPids[id]
		if !ok {
			return 0, fmt.Errorf("no container %q", id)
		}
		return pid, nil
	})
	if err != nil {
		return err
	}
	createFault(req.Root, "build", 0)
	if err := clearStale(req.Root, id); err != nil {
		return err
	}
	lc, err := libcontainer.Create(req.Root, id, config)
	if err != nil {
		return fmt.Errorf("create container %q: %w", id, err)
	}
	if err := out.Encode(&createReply{Created: true}); err != nil {
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
	pid, err := run(lc, newInitProcess(spec.Process), stdio, req.Hold)
	if err != nil {
		_ = lc.Destroy()
		return classify(err)
	}
	createFault(req.Root, "started", pid)
	return out.Encode(&createReply{Pid: pid})
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
