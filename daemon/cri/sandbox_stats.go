package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSandboxStats reports one sandbox's pod cgroup, network, process count
// and containers.
func (s *runtimeService) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, invalid("pod_sandbox_id is required")
	}
	sb, err := s.cfg.Sandboxes.Get(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, toStatus(err)
	}
	cs, err := s.cfg.Containers.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.sandboxStats(ctx, sb, cs)}, nil
}
