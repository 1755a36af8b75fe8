package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
)

// drainTimeout bounds how long output is still read after a process ended,
// for a descendant that keeps its stdout open.
const drainTimeout = 2 * time.Second

// container is one entry of the shim's table.
type container struct {
	id  string
	cfg *shimv1.ContainerConfig
	// pinsJoined are the pinned namespace types a holder joins
	// (holder.PinsJoined); set before it is in the table.
	pinsJoined []string
	created    time.Time

	mu sync.Mutex
	st state

	// Set during start, used by the exit flow, Signal, Exec and Remove.
	task    task
	proc    process
	oomBase uint64
	out     *output
	stdin   *os.File // kept open so that a stdin:true container never sees EOF
	// hub shares the container's stdio with attached clients.
	hub *attachHub
	// stopped is closed once the exit record is written and the state is
	// stopped.
	stopped chan struct{}
	// startPhases are the timed steps of the start, for CreateContainer's
	// answer (written by the start before it returns).
	startPhases []*shimv1.StartPhase
	// reapOnce starts the one goroutine that records the init's exit.
	reapOnce sync.Once
}

// task is what runs a started container: a libcontainer container, or the
// pod's namespace holder (a plain child of the shim).
type task interface {
	// Signal signals the init, or with all every process of the task.
	Signal(sig unix.Signal, all bool) error
	// KillLeftovers kills what is left once the init has ended.
	KillLeftovers() error
	OOMKillCount() (uint64, error)
	// Destroy removes the task's state and cgroup once it has ended.
	Destroy() error
}

// process is a task's init process.
type process interface {
	Pid() int
	Wait() (libct.Exit, error)
}

// libcontainer returns c's libcontainer container (exec, update), or false
// for the namespace holder or before the start.
func (c *container) libcontainer() (*libct.Container, bool) {
	lc, ok := c.task.(*libct.Container)
	return lc, ok
}

func newContainer(cfg *shimv1.ContainerConfig, now time.Time) *container {
	return &container{id: cfg.GetId(), cfg: cfg, created: now, st: createdState{}, stopped: make(chan struct{}), hub: newAttachHub()}
}

// snapshot returns the container's ContainerState.
func (c *container) snapshot() *shimv1.ContainerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshotLocked()
}

func (c *container) snapshotLocked() *shimv1.ContainerState {
	if s, ok := c.st.(stoppedState); ok {
		return s.rec.State()
	}
	st := &shimv1.ContainerState{
		Id:              c.id,
		Status:          c.st.status(),
		CreatedUnixNano: c.created.UnixNano(),
		LogPath:         c.cfg.GetLogPath(),
		Labels:          c.cfg.GetLabels(),
	}
	switch r := c.st.(type) {
	case runningState:
		st.Pid = int32(r.pid)
		st.StartedUnixNano = r.started.UnixNano()
	case heldState:
		st.Pid, st.Held = int32(r.pid), true
	case releasingState:
		st.Pid, st.Held = int32(r.pid), true
	}
	return st
}

// transition applies move to the state under the lock.
func (c *container) transition(move func(state) (state, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := move(c.st)
	if err != nil {
		return fmt.Errorf("container %q: %w", c.id, err)
	}
	c.st = next
	return nil
}

// runningPid returns the init pid if the container runs.
func (c *container) runningPid() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.st.(runningState)
	return r.pid, ok
}

// output copies a process's stdout and stderr (or its terminal) into a CRI
// log file.
type output struct {
	file    *crilog.RotatingFile // nil when the container has no log path
	w       *crilog.Writer
	readers []*os.File
	wg      sync.WaitGroup
}

func openOutput(path string, rot crilog.Rotation) (*output, error) {
	if path == "" {
		return &output{w: crilog.NewWriter(io.Discard)}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	f, err := crilog.OpenRotating(path, rot)
	if err != nil {
		return nil, err
	}
	return &output{file: f, w: crilog.NewWriter(f)}, nil
}

// copy starts copying r into the log as stream, and into tee as it is
// read (tee must not fail).
func (o *output) copy(stream crilog.Stream, r *os.File, tee io.Writer) {
	o.readers = append(o.readers, r)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		_ = o.w.CopyTee(stream, r, tee)
	}()
}

// finish reads what is left (until EOF or drainTimeout), fsyncs and closes
// the log.
func (o *output) finish() error {
	deadline := time.Now().Add(drainTimeout)
	for _, r := range o.readers {
		_ = r.SetReadDeadline(deadline)
	}
	o.wg.Wait()
	for _, r := range o.readers {
		r.Close()
	}
	if o.file == nil {
		return nil
	}
	err := errors.Join(o.w.Err(), o.file.Sync())
	return errors.Join(err, o.file.Close())
}

// pipes are the stdio pipes of a container or exec process: child holds the
// ends given to the process, closed in the shim once it started.
type pipes struct {
	child            libct.Stdio
	stdinW           *os.File
	stdoutR, stderrR *os.File
	closeChildOnce   sync.Once
}

func newPipes(withStdin bool) (*pipes, error) {
	p := &pipes{}
	ok := false
	defer func() {
		if !ok {
			p.closeAll()
		}
	}()
	var err error
	if p.stdoutR, p.child.Stdout, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	if p.stderrR, p.child.Stderr, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	if withStdin {
		if p.child.Stdin, p.stdinW, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
	}
	ok = true
	return p, nil
}

// closeChildren closes the process's ends in the shim.
func (p *pipes) closeChildren() {
	p.closeChildOnce.Do(func() {
		for _, f := range []*os.File{p.child.Stdin, p.child.Stdout, p.child.Stderr} {
			if f != nil {
				f.Close()
			}
		}
	})
}

func (p *pipes) closeAll() {
	p.closeChildren()
	for _, f := range []*os.File{p.stdinW, p.stdoutR, p.stderrR} {
		if f != nil {
			f.Close()
		}
	}
}
