package cri

import (
	"context"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// UpdateContainerResources sets a created or running container's CPU
// shares, quota and period and memory limit; what podd cannot set
// (cpuset, huge pages, cgroup v2 values) is Unimplemented naming it.
func (s *runtimeService) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	if req.GetWindows() != nil {
		return nil, invalid("windows: podd runs Linux containers only")
	}
	r := req.GetLinux()
	if r == nil {
		return &runtimeapi.UpdateContainerResourcesResponse{}, nil
	}
	if err := unsupportedResources(r, "linux"); err != nil {
		return nil, err
	}
	c, err := s.cfg.Containers.Get(ctx, req.GetContainerId())
	if err != nil {
		return nil, toStatus(err)
	}
	cfg := c.config()
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxContainerConfig{}
	}
	cfg.Linux.Resources = mergeResources(cfg.Linux.Resources, r)
	data, err := proto.Marshal(cfg)
	if err != nil {
		return nil, toStatus(err)
	}
	res := &shimv1.Resources{
		CpuShares: uint64(max(0, r.GetCpuShares())), CpuQuotaUs: max(0, r.GetCpuQuota()),
		CpuPeriodUs: uint64(max(0, r.GetCpuPeriod())), MemoryLimitBytes: max(0, r.GetMemoryLimitInBytes()),
	}
	if err := s.cfg.Containers.Update(ctx, req.GetContainerId(), res, data); err != nil {
		return nil, toStatus(err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// mergeResources is old with the values update sets (non-zero).
func mergeResources(old, update *runtimeapi.LinuxContainerResources) *runtimeapi.LinuxContainerResources {
	out := &runtimeapi.LinuxContainerResources{}
	if old != nil {
		out = proto.Clone(old).(*runtimeapi.LinuxContainerResources)
	}
	if update.GetCpuShares() > 0 {
		out.CpuShares = update.GetCpuShares()
	}
	if update.GetCpuQuota() > 0 {
		out.CpuQuota, out.CpuPeriod = update.GetCpuQuota(), update.GetCpuPeriod()
	}
	if update.GetMemoryLimitInBytes() > 0 {
		out.MemoryLimitInBytes = update.GetMemoryLimitInBytes()
	}
	return out
}

// ReopenContainerLog makes a running container's log go to a new file at
// its log path, after the client moved the old one away.
func (s *runtimeService) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	if err := s.cfg.Containers.ReopenLog(ctx, req.GetContainerId()); err != nil {
		return nil, toStatus(err)
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
