package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateContainerResources: podd's shim sets a container's cgroup once, at
// its start; changing it afterwards is not supported yet. The container
// must exist.
func (s *runtimeService) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	if _, err := s.cfg.Containers.Get(ctx, req.GetContainerId()); err != nil {
		return nil, toStatus(err)
	}
	return nil, unsupported("UpdateContainerResources: podd sets a container's resources at its start only")
}

// ReopenContainerLog: podd's shim rotates container logs itself
// (containerLogMaxSize, containerLogMaxFiles) and cannot reopen one on
// request yet. The container must exist.
func (s *runtimeService) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	if _, err := s.cfg.Containers.Get(ctx, req.GetContainerId()); err != nil {
		return nil, toStatus(err)
	}
	return nil, unsupported("ReopenContainerLog: podd's shim rotates container logs itself and cannot reopen one on request")
}
