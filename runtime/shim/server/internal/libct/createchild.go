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
	"strings"
	"sync"
	"syscall"

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
	extra := make([]*os.File, 4)
	var parentSock *os.File
	if stdio.Console {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return 0, nil, false, fmt.Errorf("console socket: %w", err)
		}
		defer child.Close()
		defer parent.Close()
		parentSock = parent
		extra[childFdConsole-3] = child
		rq.Console, rq.Width, rq.Height = true, stdio.Width, stdio.Height
	} else {
		extra[childFdStdin-3], extra[childFdStdout-3], extra[childFdStderr-3] = stdio.Stdin, stdio.Stdout, stdio.Stderr
		rq.Stdin, rq.Stdout, rq.Stderr = stdio.Stdin != nil, stdio.Stdout != nil, stdio.Stderr != nil
	}
	in, err := json.Marshal(&rq)
	if err != nil {
		return 0, nil, false, fmt.Errorf("encode create request: %w", err)
	}
	var out, errOut bytes.Buffer
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"podd-shim", createChildArg},
		Stdin:      bytes.NewReader(in),
		Stdout:     &out,
		Stderr:     &limitedWriter{w: &errOut, n: 4096},
		ExtraFiles: extra,
		// A shim killed part-way takes its create child along; the daemon
		// then kills what is left in the pod cgroup.
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: unix.SIGKILL},
	}
	runErr := startOnForkThread(cmd)
	if runErr == nil {
		runErr = cmd.Wait()
	}
	var reply createReply
	for _, line := range bytes.Split(out.Bytes(), []byte("\n")) {
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
		msg := strings.TrimSpace(errOut.String())
		if runErr == nil {
			runErr = errors.New("it reported no init pid")
		}
		if msg != "" {
			return 0, nil, created, fmt.Errorf("create child: %w: %s", runErr, msg)
		}
		return 0, nil, created, fmt.Errorf("create child: %w", runErr)
	}
	if parentSock != nil {
		f, err := utils.RecvFile(parentSock)
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
	// The descriptors the shim passed must not reach the container's
	// processes (libcontainer hands the init only what it is given).
	for fd := childFdStdin; fd <= childFdConsole; fd++ {
		unix.CloseOnExec(fd)
	}
	var req createRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("read create request: %w", err)
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
	stdio.stdin = file(req.Stdin, childFdStdin, "stdin")
	stdio.stdout = file(req.Stdout, childFdStdout, "stdout")
	stdio.stderr = file(req.Stderr, childFdStderr, "stderr")
	stdio.consoleSock = file(req.Console, childFdConsole, "console-socket")
	pid, err := run(lc, newInitProcess(spec.Process), stdio, req.Hold)
	if err != nil {
		_ = lc.Destroy()
		return classify(err)
	}
	createFault(req.Root, "started", pid)
	return out.Encode(&createReply{Pid: pid})
}

// childStdio is the create child's view of Stdio.
type childStdio struct {
	stdin, stdout, stderr *os.File
	consoleSock           *os.File
	width, height         uint16
}
