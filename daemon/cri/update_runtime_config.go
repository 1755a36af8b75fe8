package cri

import (
	"context"
	"log/slog"
	"net"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateRuntimeConfig records the node's pod CIDR the kubelet passes ("a"
// or dual-stack "a,b"); an empty one changes nothing. podd's CNI
// configuration is the admin's, so the CIDR is recorded, not applied.
func (s *runtimeService) UpdateRuntimeConfig(_ context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	cidr := req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr()
	if cidr == "" {
		return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
	}
	for _, c := range strings.Split(cidr, ",") {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(c)); err != nil {
			return nil, invalid("runtime_config.network_config.pod_cidr: %q is not a CIDR", c)
		}
	}
	if old := s.cfg.Runtime.PodCIDR(); old != cidr {
		s.cfg.Runtime.SetPodCIDR(cidr)
		slog.Info("Pod CIDR updated", "podCIDR", cidr, "was", old)
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}
