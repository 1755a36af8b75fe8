package cri

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListContainerStats reports the stats of the containers matching the
// filter: ID and sandbox ID (or prefixes), labels.
func (s *runtimeService) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	cs, err := s.cfg.Containers.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	sbs, err := s.cfg.Sandboxes.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	s.cpu.keep(liveIDs(sbs, cs))
	byID := make(map[string]Sandbox, len(sbs))
	for _, sb := range sbs {
		byID[sb.ID] = sb
	}
	f := req.GetFilter()
	resp := &runtimeapi.ListContainerStatsResponse{Stats: []*runtimeapi.ContainerStats{}}
	for _, c := range cs {
		if !containerStatsMatch(f, c) {
			continue
		}
		resp.Stats = append(resp.Stats, s.containerStats(ctx, c, byID[c.SandboxID]))
	}
	return resp, nil
}

func containerStatsMatch(f *runtimeapi.ContainerStatsFilter, c Container) bool {
	if f == nil {
		return true
	}
	if f.GetId() != "" && !strings.HasPrefix(c.ID, f.GetId()) {
		return false
	}
	if f.GetPodSandboxId() != "" && !strings.HasPrefix(c.SandboxID, f.GetPodSandboxId()) {
		return false
	}
	return labelsMatch(f.GetLabelSelector(), c.config().GetLabels())
}

// labelsMatch reports whether labels has every pair of selector.
func labelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// liveIDs is the set of the sandboxes' and containers' IDs.
func liveIDs(sbs []Sandbox, cs []Container) map[string]bool {
	live := make(map[string]bool, len(sbs)+len(cs))
	for _, sb := range sbs {
		live[sb.ID] = true
	}
	for _, c := range cs {
		live[c.ID] = true
	}
	return live
}
