package server

import (
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/server/internal/holder"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// runHolder starts c, the pod's namespace holder, as a plain child of the
// shim (package holder): none of libcontainer's create and start (its
// re-exec of the shim as init, a rootfs, a mount namespace) is on the path
// of every sandbox. It returns c's running state, or a *startError once the
// failure is recorded.
func (s *service) runHolder(c *container) (*shimv1.ContainerState, error) {
	cfg, err := holder.FromContainerConfig(c.cfg, s.minOOMScoreAdj)
	if err != nil {
		return nil, s.recordStartFailure(c, shimdir.ReasonRunError, err)
	}
	cfg.JoinPins(s.pins)
	pc := newPhaseClock(time.Now())
	var h *holder.Holder
	err = s.reaper.start(func() (int, error) {
		var err error
		if h, err = holder.Start(cfg, func(step string) { pc.mark(step, time.Now()) }); err != nil {
			return 0, err
		}
		return h.Pid(), nil
	})
	if err != nil {
		return nil, s.recordStartFailure(c, shimdir.ReasonRunError, err)
	}
	c.startPhases = pc.phases
	c.mu.Lock()
	c.task, c.proc = h, holderProcess{h}
	c.mu.Unlock()
	return s.markRunning(c), nil
}

// holderProcess is the holder as its own init process.
type holderProcess struct{ h *holder.Holder }

func (p holderProcess) Pid() int { return p.h.Pid() }

func (p holderProcess) Wait() (libct.Exit, error) {
	ex, err := p.h.Wait()
	return libct.Exit{Code: ex.Code, Signal: ex.Signal}, err
}
