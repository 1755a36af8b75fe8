package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CreateContainer makes a container in a ready sandbox: its rootfs and
// config, recorded CREATED; StartContainer runs it.
func (s *runtimeService) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, invalid("pod_sandbox_id is required")
	}
	sb, err := s.cfg.Sandboxes.Get(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, toStatus(err)
	}
	cs, err := containerSpec(req, sb, s.cfg.Features)
	if err != nil {
		return nil, err
	}
	id, err := s.cfg.Containers.Create(ctx, cs)
	if err != nil {
		return nil, toStatus(err)
	}
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}
