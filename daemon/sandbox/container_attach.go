package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podd-dev/podd/internal/errdefs"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// AttachRequest is one client attached to a container's own stdio.
type AttachRequest struct {
	Stdin          io.Reader // nil: no input
	Stdout, Stderr io.Writer // nil: not wanted
	// StdinOnce closes the container's stdin when this client's input
	// ends; without it the end of the input detaches the client.
	StdinOnce bool
	Resize    <-chan TermSize
}

// Attach connects a client to a running container's stdio through its
// sandbox's shim until the container exits, the client detaches (its
// input ends, or writing its output fails) or ctx ends. An unknown
// container is errdefs.ErrNotFound, one not running
// errdefs.ErrFailedPrecondition.
func (c *Containers) Attach(ctx context.Context, id string, req AttachRequest) error {
	e := c.lookup(id)
	if e == nil {
		return errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	e.mu.Lock()
	st := c.status(ctx, e)
	sb := e.rec.SandboxID
	e.mu.Unlock()
	if st.State != StateRunning {
		return errdefs.Classed(errdefs.ErrFailedPrecondition, "attach to container %s: it is %s, not running", id, st.State)
	}
	cl, _, err := c.sandboxes.Shim(ctx, sb)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", id, err)
	}
	return attachIn(ctx, cl, id, req)
}

// errDetached ends a session whose client went.
var errDetached = errors.New("client detached")

// attachIn runs one attach session over the shim's Attach stream.
func attachIn(ctx context.Context, cl ShimClient, id string, req AttachRequest) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stream, err := cl.Attach(ctx)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", id, err)
	}
	var sendMu sync.Mutex
	send := func(m *shimv1.AttachRequest) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	start := &shimv1.AttachStart{Container: id, Stdin: req.Stdin != nil, Stdout: req.Stdout != nil, Stderr: req.Stderr != nil, StdinOnce: req.StdinOnce}
	if err := send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Start{Start: start}}); err != nil {
		return fmt.Errorf("attach to container %s: %w", id, err)
	}
	if req.Stdin != nil {
		forwardStdin(req.Stdin, func(b []byte) error {
			return send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Stdin{Stdin: b}})
		}, func() {
			send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_CloseStdin{CloseStdin: true}})
			if !req.StdinOnce {
				cancel(errDetached)
			}
		})
	}
	if req.Resize != nil {
		forwardResizes(ctx, req.Resize, func(r *shimv1.Resize) error {
			return send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Resize{Resize: r}})
		})
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(context.Cause(ctx), errDetached) {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("attach to container %s: the stream ended before the container exited", id)
		}
		if err != nil {
			if status.Code(err) == codes.FailedPrecondition {
				err = errdefs.Classed(errdefs.ErrFailedPrecondition, "%s", status.Convert(err).Message())
			}
			return fmt.Errorf("attach to container %s: %w", id, err)
		}
		var werr error
		switch m := resp.Msg.(type) {
		case *shimv1.AttachResponse_Stdout:
			if req.Stdout != nil {
				_, werr = req.Stdout.Write(m.Stdout)
			}
		case *shimv1.AttachResponse_Stderr:
			if req.Stderr != nil {
				_, werr = req.Stderr.Write(m.Stderr)
			}
		case *shimv1.AttachResponse_Exit:
			return nil
		}
		if werr != nil {
			return nil // the client went: detach
		}
	}
}
