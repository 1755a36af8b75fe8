package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStats reports one container's CPU, memory and writable layer.
func (s *runtimeService) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	c, err := s.cfg.Containers.Get(ctx, req.GetContainerId())
	if err != nil {
		return nil, toStatus(err)
	}
	sb, err := s.cfg.Sandboxes.Get(ctx, c.SandboxID)
	if err != nil {
		return nil, toStatus(err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: s.containerStats(ctx, c, sb)}, nil
}
