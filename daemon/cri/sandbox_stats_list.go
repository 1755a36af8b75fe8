package cri

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListPodSandboxStats reports the stats of the ready sandboxes matching
// the filter: ID (or a prefix), labels. A sandbox that is not ready has
// nothing left to measure and is left out, as containerd does.
func (s *runtimeService) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	sbs, err := s.cfg.Sandboxes.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	cs, err := s.cfg.Containers.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	s.cpu.keep(liveIDs(sbs, cs))
	f := req.GetFilter()
	resp := &runtimeapi.ListPodSandboxStatsResponse{Stats: []*runtimeapi.PodSandboxStats{}}
	for _, sb := range sbs {
		if !sb.Ready || !sandboxStatsMatch(f, sb) {
			continue
		}
		resp.Stats = append(resp.Stats, s.sandboxStats(ctx, sb, cs))
	}
	return resp, nil
}

func sandboxStatsMatch(f *runtimeapi.PodSandboxStatsFilter, sb Sandbox) bool {
	if f == nil {
		return true
	}
	if f.GetId() != "" && !strings.HasPrefix(sb.ID, f.GetId()) {
		return false
	}
	return labelsMatch(f.GetLabelSelector(), sb.config().GetLabels())
}
