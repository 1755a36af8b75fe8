package server

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// Shutdown makes the shim exit once no container runs; with force it first
// kills every process of every container. It returns at once; the shim
// tears down and exits in the background.
func (s *service) Shutdown(_ context.Context, req *shimv1.ShutdownRequest) (*shimv1.ShutdownResponse, error) {
	s.beginShutdown(req.GetForce())
	return &shimv1.ShutdownResponse{}, nil
}

// beginShutdown refuses new containers, kills the running ones when force is
// set, and starts the teardown once all have stopped. It may be called more
// than once (a later call can add force).
func (s *service) beginShutdown(force bool) {
	s.mu.Lock()
	first := !s.shuttingDown
	s.shuttingDown = true
	s.forced = s.forced || force
	list := make([]*container, 0, len(s.containers))
	for _, c := range s.containers {
		list = append(list, c)
	}
	s.mu.Unlock()
	s.log.Info("shutdown requested", "force", force, "containers", len(list))
	for _, c := range list {
		// A held container never ran; nothing would release it now.
		s.killHeld(c, false)
	}
	if force {
		for _, c := range list {
			c.mu.Lock()
			t, running := c.task, c.st.status() == shimv1.Status_STATUS_RUNNING
			c.mu.Unlock()
			if running {
				if err := t.Signal(unix.SIGKILL, true); err != nil {
					s.log.Warn("kill container", "container", c.id, "err", err)
				}
			}
		}
	}
	if first {
		go s.teardownWhenIdle(list)
	}
}

// teardownWhenIdle waits for every container to stop, then removes what the
// shim owns: libcontainer state, the pod cgroup, the pid file. Exit records
// and logs stay.
func (s *service) teardownWhenIdle(list []*container) {
	for _, c := range list {
		<-c.stopped
	}
	for _, c := range list {
		c.mu.Lock()
		t := c.task
		c.mu.Unlock()
		if t != nil {
			if err := t.Destroy(); err != nil {
				s.log.Warn("destroy container", "container", c.id, "err", err)
			}
		}
	}
	if err := os.RemoveAll(shimdir.RuncDir(s.stateDir)); err != nil {
		s.log.Warn("remove libcontainer state", "err", err)
	}
	if s.cgroupParent != "" {
		if err := shimdir.RemoveCgroup(s.cgroupParent); err != nil {
			s.log.Warn("remove pod cgroup", "cgroup", s.cgroupParent, "err", err)
		}
	}
	if err := os.Remove(shimdir.PidFile(s.stateDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("remove pid file", "err", err)
	}
	s.events.close()
	s.log.Info("shim torn down")
	close(s.done)
}

// killIfForced kills a container that finished starting after a forced
// shutdown began.
func (s *service) killIfForced(c *container) {
	s.mu.Lock()
	forced := s.forced
	s.mu.Unlock()
	if !forced {
		return
	}
	c.mu.Lock()
	t := c.task
	c.mu.Unlock()
	if err := t.Signal(unix.SIGKILL, true); err != nil {
		s.log.Warn("kill container", "container", c.id, "err", err)
	}
}

// finished is closed once a shutdown has finished its teardown.
func (s *service) finished() <-chan struct{} { return s.done }
