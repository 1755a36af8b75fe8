package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// startError is a failed start, already recorded as the container's exit.
type startError struct {
	reason, message string
}

func (e *startError) Error() string { return e.reason + ": " + e.message }

// runContainer creates and starts c. It returns c's running state once
// the process has been exec'd, or a *startError once the failure is
// recorded.
func (s *service) runContainer(c *container) (*shimv1.ContainerState, error) {
	if c.cfg.GetHolder() {
		return s.runHolder(c)
	}
	if err := s.spawn(c, "libcontainer_start", (*libct.Container).Start); err != nil {
		return nil, err
	}
	return s.markRunning(c), nil
}

// spawn creates c and starts its init with start (libcontainer's Start or
// Hold; its phase is named step), wiring its output to the log, and sets
// c's task and process. It returns a *startError once a failure is
// recorded.
func (s *service) spawn(c *container, step string, start func(*libct.Container, libct.Stdio) (*libct.Process, error)) error {
	cfg := c.cfg
	pc := newPhaseClock(time.Now())
	out, err := openOutput(cfg.GetLogPath(), s.logRotation)
	if err != nil {
		return s.recordStartFailure(c, shimdir.ReasonRunError, err)
	}
	pc.mark("log_open", time.Now())
	lc, err := s.rt.Create(cfg, s.namespacePath)
	// c keeps cfg as long as it lives; its seccomp filter (7 KiB, the
	// default one) was Create's alone to read.
	cfg.Seccomp = nil
	if err != nil {
		_ = out.finish()
		return s.recordStartFailure(c, shimdir.ReasonRunError, err)
	}
	// The phase names predate the create child: "libcontainer_create" is
	// now the shim's spec and config, "libcontainer_start" the child's
	// create and start.
	pc.mark("libcontainer_create", time.Now())
	// A new cgroup counts from 0; a reused one from what it had.
	base, err := lc.OOMKillCount()
	if err != nil {
		s.log.Warn("read OOM-kill baseline", "container", c.id, "err", err)
	}
	stdio := libct.Stdio{Console: cfg.GetTty()}
	var p *pipes
	if !cfg.GetTty() {
		if p, err = newPipes(cfg.GetStdin()); err != nil {
			_ = lc.Destroy()
			_ = out.finish()
			return s.recordStartFailure(c, shimdir.ReasonRunError, err)
		}
		stdio = p.child
	}
	var proc *libct.Process
	err = s.reaper.start(func() (int, error) {
		var err error
		if proc, err = start(lc, stdio); err != nil {
			return 0, err
		}
		return proc.Pid(), nil
	})
	if p != nil {
		p.closeChildren()
	}
	if err != nil {
		if p != nil {
			p.closeAll()
		}
		_ = out.finish()
		reason := shimdir.ReasonRunError
		if errors.Is(err, libct.ErrCannotRun) {
			reason = shimdir.ReasonCannotRun
		}
		return s.recordStartFailure(c, reason, err)
	}
	pc.mark(step, time.Now())
	c.startPhases = pc.phases
	if proc.Console != nil {
		out.copy(crilog.Stdout, proc.Console, c.hub.output(false))
		var stdin io.WriteCloser
		if cfg.GetStdin() {
			stdin = &ttyInput{f: proc.Console}
		}
		c.hub.setInput(stdin, proc.Resize)
	} else {
		out.copy(crilog.Stdout, p.stdoutR, c.hub.output(false))
		out.copy(crilog.Stderr, p.stderrR, c.hub.output(true))
		if p.stdinW != nil {
			c.hub.setInput(p.stdinW, nil)
		}
	}
	c.mu.Lock()
	c.task, c.proc, c.oomBase, c.out = lc, proc, base, out
	if p != nil {
		c.stdin = p.stdinW
	}
	c.mu.Unlock()
	return nil
}

// markRunning moves c, whose task and process are set, to running,
// publishes that, and watches for its end.
func (s *service) markRunning(c *container) *shimv1.ContainerState {
	c.mu.Lock()
	pid := c.proc.Pid()
	next, err := c.st.start(pid, time.Now())
	if err == nil {
		c.st = next
	}
	running := c.snapshotLocked()
	c.mu.Unlock()
	if err != nil {
		// Only this goroutine moves a created container: a bug, but the
		// process runs and reapExit still records its end.
		s.log.Error("mark container running", "container", c.id, "err", err)
	}
	s.log.Info("container started", "container", c.id, "pid", pid)
	s.events.publish(running)
	s.watchExit(c)
	s.killIfForced(c)
	s.trim.kickStarted()
	return running
}

// watchExit records c's exit once its init ends (once per container: a
// held container's is watched from its release or its kill on).
func (s *service) watchExit(c *container) {
	c.reapOnce.Do(func() { go s.reapExit(c) })
}

// recordStartFailure records a start failure as the container's exit (code 128).
func (s *service) recordStartFailure(c *container, reason string, cause error) error {
	msg := cause.Error()
	rec := &shimdir.ExitRecord{
		ID:               c.id,
		CreatedUnixNano:  c.created.UnixNano(),
		FinishedUnixNano: time.Now().UnixNano(),
		ExitCode:         128,
		Reason:           reason,
		Message:          msg,
		LogPath:          c.cfg.GetLogPath(),
		Labels:           c.cfg.GetLabels(),
	}
	s.log.Warn("container start failed", "container", c.id, "reason", reason, "err", cause)
	s.finishStopped(c, rec)
	return &startError{reason: reason, message: msg}
}

// reapExit runs when c's init exits, and in this order drains its output,
// fsyncs the log, reads the OOM counter, writes the exit record, destroys
// the container and only then reports the exit.
func (s *service) reapExit(c *container) {
	c.mu.Lock()
	t, proc, out, stdin, base := c.task, c.proc, c.out, c.stdin, c.oomBase
	running, _ := c.st.(runningState)
	started := running.started
	c.mu.Unlock()

	ex, err := proc.Wait()
	s.reaper.untrack(proc.Pid())
	finished := time.Now()
	var msg string
	if err != nil {
		s.log.Error("wait for container", "container", c.id, "err", err)
		ex, msg = libct.Exit{Code: 255}, err.Error()
	}
	if err := t.KillLeftovers(); err != nil {
		s.log.Warn("kill leftover processes", "container", c.id, "err", err)
	}
	if stdin != nil {
		stdin.Close()
	}
	if out != nil {
		if err := out.finish(); err != nil {
			s.log.Warn("finish container log", "container", c.id, "err", err)
		}
	}
	c.hub.exit()
	n, err := t.OOMKillCount()
	if err != nil {
		s.log.Warn("read OOM-kill count", "container", c.id, "err", err)
	}
	rec := &shimdir.ExitRecord{
		ID:               c.id,
		Pid:              int32(proc.Pid()),
		CreatedUnixNano:  c.created.UnixNano(),
		FinishedUnixNano: finished.UnixNano(),
		ExitCode:         int32(ex.Code),
		Signal:           int32(ex.Signal),
		OOMKilled:        n > base,
		Message:          msg,
		LogPath:          c.cfg.GetLogPath(),
		Labels:           c.cfg.GetLabels(),
	}
	if !started.IsZero() {
		// A held container killed before its release never started.
		rec.StartedUnixNano = started.UnixNano()
	}
	s.log.Info("container exited", "container", c.id, "exitCode", ex.Code, "signal", ex.Signal, "oomKilled", rec.OOMKilled)
	s.finishStopped(c, rec)
	s.trim.kick()
}

// finishStopped writes rec, destroys the task, moves c to
// stopped and publishes the exit.
func (s *service) finishStopped(c *container, rec *shimdir.ExitRecord) {
	if err := s.writeRecord(rec); err != nil {
		s.log.Error("write exit record", "container", c.id, "err", err)
	}
	c.mu.Lock()
	t := c.task
	c.mu.Unlock()
	if t != nil {
		if err := t.Destroy(); err != nil {
			s.log.Warn("destroy stopped container", "container", c.id, "err", err)
		}
	}
	if err := c.transition(func(st state) (state, error) { return st.stop(rec) }); err != nil {
		s.log.Error("record exit", "container", c.id, "err", err)
		return
	}
	close(c.stopped)
	s.events.publish(rec.State())
}

func (s *service) writeRecord(rec *shimdir.ExitRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode exit record of %q: %w", rec.ID, err)
	}
	return atomicfile.WriteFile(shimdir.ExitRecordPath(s.stateDir, rec.ID), b, 0o600)
}

// namespacePath returns where a container joining the namespace of type
// typ (its /proc/<pid>/ns file name) of container id opens it. A holder's
// namespace of a type it takes from the pins (PinsJoined) is the pin,
// whether it runs yet or not; so is one of a container not asked for yet
// (the daemon makes containers beside the holder's start only when the
// holder will join the pins: a shim that pins says so in Info).
func (s *service) namespacePath(id, typ string) (string, error) {
	if pin := s.pins.Path(typ); pin != "" {
		if c := s.lookup(id); c == nil || slices.Contains(c.pinsJoined, typ) {
			return pin, nil
		}
	}
	pid, err := s.namespacePid(id)
	if err != nil {
		return "", err
	}
	return "/proc/" + strconv.Itoa(pid) + "/ns/" + typ, nil
}

// namespacePid returns the init pid of a running container, for another
// container joining its namespaces.
func (s *service) namespacePid(id string) (int, error) {
	c := s.lookup(id)
	if c == nil {
		return 0, fmt.Errorf("no container %q", id)
	}
	pid, ok := c.runningPid()
	if !ok {
		return 0, fmt.Errorf("container %q is not running", id)
	}
	return pid, nil
}
