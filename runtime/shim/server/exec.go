package server

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
)

// execDrainTimeout bounds reading an exec's output after it ended, beyond
// what it had written by then: what processes it left behind write (or
// their holding the pipe open without writing).
const execDrainTimeout = time.Second

// maxExecStarts bounds how many execs one shim starts at once. Starting is
// the costly part (the fastexec helper's set-up, and the first exec of a
// container reads its seccomp program back); a started command runs unbounded,
// so a long interactive exec never holds up a probe. Time spent waiting here
// is not the command's: its timeout counts from its start.
var maxExecStarts = max(1, runtime.NumCPU())

// startLimit is a counting semaphore whose waits end with their context.
type startLimit chan struct{}

func newStartLimit(n int) startLimit { return make(startLimit, n) }

// acquire takes a slot, or returns ctx's error if ctx ends first.
func (l startLimit) acquire(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives back a slot taken by acquire.
func (l startLimit) release() { <-l }

// execServer is the shim's side of an Exec stream.
type execServer interface {
	Context() context.Context
	Send(*shimv1.ExecResponse) error
	Recv() (*shimv1.ExecRequest, error)
}

// Exec runs a process in a running container and streams its I/O.
func (s *service) Exec(stream execServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	spec := first.GetStart()
	if spec == nil || len(spec.GetArgs()) == 0 {
		return status.Error(codes.InvalidArgument, "exec: the first message must be start with args")
	}
	c := s.lookup(spec.GetContainer())
	if c == nil {
		return status.Errorf(codes.NotFound, "exec in container %q: no such container", spec.GetContainer())
	}
	if c.cfg.GetHolder() {
		return status.Errorf(codes.FailedPrecondition, "exec in container %q: it is the namespace holder", c.id)
	}
	c.mu.Lock()
	lc, _ := c.libcontainer()
	_, running := c.st.(runningState)
	c.mu.Unlock()
	if !running {
		return status.Errorf(codes.FailedPrecondition, "exec in container %q: it is not running", c.id)
	}

	stdio := libct.Stdio{Console: spec.GetTty(), Width: uint16(spec.GetWidth()), Height: uint16(spec.GetHeight())}
	var p *pipes
	if !spec.GetTty() {
		if p, err = newPipes(spec.GetStdin()); err != nil {
			return status.Errorf(codes.Internal, "exec in container %q: %v", c.id, err)
		}
		stdio = p.child
	}
	if err := s.execStarts.acquire(stream.Context()); err != nil {
		if p != nil {
			p.closeAll()
		}
		return status.FromContextError(err).Err()
	}
	var proc *libct.Process
	err = s.reaper.start(func() (int, error) {
		var err error
		proc, err = lc.Exec(libct.ProcessSpec{Args: spec.GetArgs(), Env: spec.GetEnv(), Cwd: spec.GetCwd(), Stdio: stdio})
		if err != nil {
			return 0, err
		}
		return proc.Pid(), nil
	})
	s.execStarts.release()
	if p != nil {
		p.closeChildren()
	}
	out := &execOutput{stream: stream, limit: spec.GetOutputLimit()}
	if err != nil {
		if p != nil {
			p.closeAll()
		}
		if errors.Is(err, libct.ErrCannotRun) {
			// Like a shell: 127 when the command is not found, else 126.
			code := int32(126)
			if strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "no such file") {
				code = 127
			}
			out.send(&shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Stderr{Stderr: []byte(err.Error() + "\n")}})
			return out.send(&shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Exit{Exit: &shimv1.ExecExit{ExitCode: code}}})
		}
		return status.Errorf(codes.Internal, "%v", err)
	}
	return s.serveExec(stream, spec, proc, p, out)
}

func (s *service) serveExec(stream execServer, spec *shimv1.ExecProcess, proc *libct.Process, p *pipes, out *execOutput) error {
	pid := proc.Pid()
	var readers []*os.File
	var wg sync.WaitGroup
	exited := make(chan struct{})
	pump := func(r *os.File, stderr bool) {
		readers = append(readers, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.pump(r, stderr, exited)
		}()
	}
	var stdin io.WriteCloser
	if proc.Console != nil {
		pump(proc.Console, false)
		stdin = &ttyInput{f: proc.Console}
	} else {
		pump(p.stdoutR, false)
		pump(p.stderrR, true)
		if p.stdinW != nil {
			stdin = p.stdinW
		}
	}

	var timedOut atomic.Bool
	if ms := spec.GetTimeoutMs(); ms > 0 {
		t := time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
			// Once the command has ended and been reaped (its output may
			// still be draining), its pid is no longer its own.
			if proc.IfUnreaped(killTree) {
				timedOut.Store(true)
			}
		})
		defer t.Stop()
	}
	go func() {
		select {
		case <-stream.Context().Done():
			proc.IfUnreaped(killTree)
		case <-exited:
		}
	}()
	go s.execInput(stream, proc, stdin, exited)

	ex, err := proc.Wait()
	s.reaper.untrack(pid)
	// The deadlines go before exited is closed: a pump that sees it
	// closed may lift its own (see pump).
	deadline := time.Now().Add(execDrainTimeout)
	for _, r := range readers {
		_ = r.SetReadDeadline(deadline)
	}
	close(exited)
	wg.Wait()
	for _, r := range readers {
		r.Close()
	}
	if p != nil && p.stdinW != nil {
		p.stdinW.Close()
	}
	if err != nil {
		return status.Errorf(codes.Internal, "exec in container %q: %v", spec.GetContainer(), err)
	}
	timed := killedByTimeout(timedOut.Load(), ex)
	return out.send(&shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Exit{Exit: &shimv1.ExecExit{ExitCode: int32(ex.Code), TimedOut: timed}}})
}

// killedByTimeout reports whether an exec timed out: its timer fired and the
// SIGKILL it sent is what ended the command. On a busy host the timer can
// fire after the command has exited but before Wait has returned; the kill
// then hits a zombie, the command ended in time and keeps its own status.
func killedByTimeout(timerFired bool, ex libct.Exit) bool {
	return timerFired && ex.Signal == int(unix.SIGKILL)
}

// execInput forwards stdin, resizes and close_stdin until the client stops
// sending or the process ends.
func (s *service) execInput(stream execServer, proc *libct.Process, stdin io.WriteCloser, exited <-chan struct{}) {
	for {
		req, err := stream.Recv()
		if err != nil {
			return
		}
		select {
		case <-exited:
			return
		default:
		}
		switch m := req.GetMsg().(type) {
		case *shimv1.ExecRequest_Stdin:
			if stdin != nil {
				_, _ = stdin.Write(m.Stdin)
			}
		case *shimv1.ExecRequest_Resize:
			if err := proc.Resize(uint16(m.Resize.GetWidth()), uint16(m.Resize.GetHeight())); err != nil {
				s.log.Debug("resize exec terminal", "err", err)
			}
		case *shimv1.ExecRequest_CloseStdin:
			if stdin != nil && m.CloseStdin {
				_ = stdin.Close()
			}
		}
	}
}

// ttyInput writes to a terminal; closing it sends end-of-file (^D) instead
// of hanging the terminal up.
type ttyInput struct{ f *os.File }

func (t *ttyInput) Write(b []byte) (int, error) { return t.f.Write(b) }
func (t *ttyInput) Close() error                { _, err := t.f.Write([]byte{4}); return err }

// execOutput sends an exec's output on the stream, capped at limit bytes
// (0: no cap). Sends are serialised: a stream's messages go one at a time.
type execOutput struct {
	stream execServer
	limit  int64
	mu     sync.Mutex
	sent   int64
}

func (o *execOutput) send(r *shimv1.ExecResponse) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stream.Send(r)
}

// pump copies r to the stream until EOF, a read error or a deadline; output
// past the limit is read and dropped so the process never blocks. Once the
// process has exited (exited closed, r's read deadline set), whatever it
// wrote before is copied whatever the time that takes (a reader that is
// slow to take it holds the sends back): the deadline, lifted until then,
// only bounds what comes after.
func (o *execOutput) pump(r io.Reader, stderr bool, exited <-chan struct{}) {
	f, _ := r.(*os.File)
	buf := make([]byte, 32*1024)
	measured := false
	owed := 0
	for {
		if !measured && f != nil && isClosed(exited) {
			measured = true
			if owed = queued(f); owed > 0 {
				_ = f.SetReadDeadline(time.Time{})
			}
		}
		n, err := r.Read(buf)
		if owed > 0 {
			if owed -= n; owed <= 0 {
				_ = f.SetReadDeadline(time.Now().Add(execDrainTimeout))
			}
		}
		if n > 0 {
			if b := o.take(buf[:n]); len(b) > 0 {
				data := append([]byte(nil), b...)
				var msg *shimv1.ExecResponse
				if stderr {
					msg = &shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Stderr{Stderr: data}}
				} else {
					msg = &shimv1.ExecResponse{Msg: &shimv1.ExecResponse_Stdout{Stdout: data}}
				}
				_ = o.send(msg)
			}
		}
		if err != nil {
			return
		}
	}
}

// take returns the part of b still within the limit and counts it.
func (o *execOutput) take(b []byte) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.limit <= 0 {
		return b
	}
	left := o.limit - o.sent
	if left <= 0 {
		return nil
	}
	if int64(len(b)) > left {
		b = b[:left]
	}
	o.sent += int64(len(b))
	return b
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// queued is how many bytes wait to be read from f, a pipe or a terminal
// (TIOCINQ is FIONREAD).
func queued(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	return n
}
