package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podd-dev/podd/internal/errdefs"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// TermSize is a terminal's size.
type TermSize struct{ Width, Height uint16 }

// ExecRequest is one process to run in a container.
type ExecRequest struct {
	Cmd            []string
	Tty            bool
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Resize         <-chan TermSize
	Timeout        time.Duration
}

// ErrExecTimeout is an exec killed at its timeout.
var ErrExecTimeout = errors.New("exec timed out")

// Exec runs a process in a running container and returns its exit code.
// An unknown container is errdefs.ErrNotFound, one not running
// errdefs.ErrFailedPrecondition.
func (c *Containers) Exec(ctx context.Context, id string, req ExecRequest) (int32, error) {
	e := c.lookup(id)
	if e == nil {
		return 0, errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	e.mu.Lock()
	st := c.status(ctx, e)
	sb := e.rec.SandboxID
	e.mu.Unlock()
	if st.State != StateRunning {
		return 0, errdefs.Classed(errdefs.ErrFailedPrecondition, "exec in container %s: it is %s, not running", id, st.State)
	}
	if len(req.Cmd) == 0 {
		return 0, errdefs.Classed(errdefs.ErrInvalidArgument, "exec in container %s: no command", id)
	}
	cl, _, err := c.sandboxes.Shim(ctx, sb)
	if err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", id, err)
	}
	return execIn(ctx, cl, id, req)
}

// firstSizeWait bounds how long a terminal exec waits for the client's
// terminal size before it starts without one.
const firstSizeWait = time.Second

// execIn runs req in container id through the shim's Exec stream.
func execIn(ctx context.Context, cl ShimClient, id string, req ExecRequest) (int32, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := cl.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", id, err)
	}
	start := &shimv1.ExecProcess{Container: id, Args: req.Cmd, Tty: req.Tty, Stdin: req.Stdin != nil}
	if req.Timeout > 0 {
		start.TimeoutMs = max(1, req.Timeout.Milliseconds())
	}
	if req.Tty && req.Resize != nil {
		// A terminal client sends its size first: the process starts with
		// it, or a command reading it at once would see 0x0.
		select {
		case sz, ok := <-req.Resize:
			if ok {
				start.Width, start.Height = uint32(sz.Width), uint32(sz.Height)
			}
		case <-time.After(firstSizeWait):
		case <-ctx.Done():
			return 0, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		}
	}
	var sendMu sync.Mutex
	send := func(m *shimv1.ExecRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	if err := send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: start}}); err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if req.Stdin != nil {
		forwardStdin(req.Stdin, func(b []byte) error {
			return send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Stdin{Stdin: b}})
		}, func() {
			send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_CloseStdin{CloseStdin: true}})
		})
	}
	if req.Resize != nil {
		forwardResizes(ctx, req.Resize, func(r *shimv1.Resize) error {
			return send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Resize{Resize: r}})
		})
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("exec in container %s: the stream ended without an exit code", id)
		}
		if err != nil {
			if status.Code(err) == codes.FailedPrecondition {
				err = errdefs.Classed(errdefs.ErrFailedPrecondition, "%s", status.Convert(err).Message())
			}
			return 0, fmt.Errorf("exec in container %s: %w", id, err)
		}
		switch m := resp.Msg.(type) {
		case *shimv1.ExecResponse_Stdout:
			if req.Stdout != nil {
				req.Stdout.Write(m.Stdout)
			}
		case *shimv1.ExecResponse_Stderr:
			if req.Stderr != nil {
				req.Stderr.Write(m.Stderr)
			}
		case *shimv1.ExecResponse_Exit:
			if m.Exit.GetTimedOut() {
				return m.Exit.GetExitCode(), fmt.Errorf("exec in container %s: %w after %s", id, ErrExecTimeout, req.Timeout)
			}
			return m.Exit.GetExitCode(), nil
		}
	}
}
