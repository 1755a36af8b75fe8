package cri

import (
	"context"

	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListPodSandboxMetrics reads the metrics of every ready sandbox and its
// running containers, one sandbox after the other (the kubelet calls it
// on every scrape: no goroutine per pod, nothing kept between calls). A
// sandbox that is not ready has nothing left to measure and is left out.
func (s *runtimeService) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	sbs, err := s.cfg.Sandboxes.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	cs, err := s.cfg.Containers.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	bySandbox := map[string][]Container{}
	for _, c := range cs {
		bySandbox[c.SandboxID] = append(bySandbox[c.SandboxID], c)
	}
	resp := &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: []*runtimeapi.PodSandboxMetrics{}}
	for _, sb := range sbs {
		if !sb.Ready {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		resp.PodMetrics = append(resp.PodMetrics, s.sandboxMetrics(ctx, sb, bySandbox[sb.ID]))
	}
	return resp, nil
}
