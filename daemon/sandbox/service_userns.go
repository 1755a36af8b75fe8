package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podd-dev/podd/internal/undo"
)

// createInUserNamespace makes a sandbox with its own user namespace. The
// pause creates it, and the network namespace inside it (runtime/spec
// PauseConfig), so the design's order changes for it: shim → pause → pin
// the pause's netns + CNI ADD → pod files. Undo is as in Create: the
// network, then the shim with the pause.
func (s *Service) createInUserNamespace(ctx context.Context, req Request) (_ *Instance, _ ShimClient, err error) {
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	mark := req.Mark
	if mark == nil {
		mark = func(string, time.Time, []Phase) {}
	}
	if req.Pod.Spec.HostNetwork {
		return nil, nil, errors.New("a sandbox in its own user namespace cannot use the host's network")
	}
	inst := &Instance{ID: req.ID}
	cl, err := s.launchShim(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	s.pushShimStop(&rollback, req, cl)
	mark("shim", time.Now(), nil)
	pid, parts, err := s.startPause(ctx, cl, req, "")
	if err != nil {
		return nil, nil, err
	}
	inst.pausePid = pid
	mark("pause", time.Now(), parts)
	if inst.pausePid <= 0 {
		return nil, nil, fmt.Errorf("set up pod network: the shim reported no pid for the pause")
	}
	parts, err = s.setupNetwork(ctx, req, inst, fmt.Sprintf("/proc/%d/ns/net", inst.pausePid), &rollback, nil)
	if err != nil {
		return nil, nil, err
	}
	mark("network", time.Now(), parts)
	if req.WriteFiles != nil {
		if err := req.WriteFiles(inst); err != nil {
			return nil, nil, err
		}
		mark("pod_files", time.Now(), nil)
	}
	rollback.Release()
	return inst, cl, nil
}
