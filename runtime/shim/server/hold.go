package server

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
)

// A container created with hold (CreateContainerRequest.hold) is set up to
// the last step before the user's program: its init waits on
// libcontainer's exec fifo while the daemon does the rest of the pod's
// setup (the network). StartContainer releases it; Remove, Signal or a
// shutdown kills it. Its exit is watched only from the release or the kill
// on: until then its init cannot end but by a kill, which the release sees.

// holdContainer creates c and stops its init before the user's program.
// It returns c's state (CREATED, with the init's pid), or a *startError
// once a failure is recorded.
func (s *service) holdContainer(c *container) (*shimv1.ContainerState, error) {
	if err := s.spawn(c, "libcontainer_hold", (*libct.Container).Hold); err != nil {
		return nil, err
	}
	c.mu.Lock()
	next, err := c.st.hold(c.proc.Pid())
	if err == nil {
		c.st = next
	}
	held := c.snapshotLocked()
	c.mu.Unlock()
	if err != nil {
		// Only this goroutine moves a created container: a bug.
		s.killHeld(c, true)
		return nil, status.Errorf(codes.Internal, "hold container %q: %v", c.id, err)
	}
	s.log.Info("container held", "container", c.id, "pid", held.GetPid())
	if s.isShuttingDown() {
		// The shutdown may have listed c before it was held.
		s.killHeld(c, false)
	}
	return held, nil
}

// StartContainer releases a held container.
func (s *service) StartContainer(ctx context.Context, req *shimv1.StartContainerRequest) (*shimv1.StartContainerResponse, error) {
	c := s.lookup(req.GetId())
	if c == nil {
		return nil, status.Errorf(codes.NotFound, "start container %q: no such container", req.GetId())
	}
	c.mu.Lock()
	lc, _ := c.libcontainer()
	next, err := c.st.release()
	if err == nil && lc != nil {
		c.st = next
	}
	c.mu.Unlock()
	if err != nil || lc == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "start container %q: it is not held", c.id)
	}
	pc := newPhaseClock(time.Now())
	if err := lc.Release(ctx); err != nil {
		// Its init died or cannot go on: kill what is left; the exit
		// record says how it ended.
		s.killHeld(c, true)
		select {
		case <-c.stopped:
		case <-ctx.Done():
		}
		code := codes.Unknown
		if errors.Is(err, libct.ErrCannotRun) {
			code = codes.FailedPrecondition
		}
		return nil, status.Errorf(code, "start container %q: %v", c.id, err)
	}
	pc.mark("libcontainer_exec", time.Now())
	running := s.markRunning(c)
	return &shimv1.StartContainerResponse{State: running, Phases: pc.phases}, nil
}

// killHeld kills c if it is held (or, with releasing, being released) and
// watches for its end; it reports whether it did.
func (s *service) killHeld(c *container, releasing bool) bool {
	c.mu.Lock()
	st, t := c.st, c.task
	c.mu.Unlock()
	switch st.(type) {
	case heldState:
	case releasingState:
		if !releasing {
			return false
		}
	default:
		return false
	}
	if t == nil {
		return false
	}
	if err := t.Signal(unix.SIGKILL, false); err != nil {
		s.log.Warn("kill held container", "container", c.id, "err", err)
	}
	s.watchExit(c)
	return true
}

// removeHeld kills a held c and waits until its end is recorded, so that
// Remove can forget it.
func (s *service) removeHeld(ctx context.Context, c *container) error {
	if !s.killHeld(c, false) {
		return nil
	}
	select {
	case <-c.stopped:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
