package cri

import (
	"context"
	"encoding/json"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Status reports the RuntimeReady and NetworkReady conditions: the runtime
// is ready while it answers; the network is not while no CNI configuration
// (or one of its plugins) is there, with the reason containerd gives.
// Verbose adds the recorded pod CIDR and the last network check.
func (s *runtimeService) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	network := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	netErr := s.cfg.Runtime.NetworkReady(ctx)
	if netErr != nil {
		network.Status = false
		network.Reason = networkNotReadyReason
		network.Message = "Network plugin returns error: " + netErr.Error()
	}
	resp := &runtimeapi.StatusResponse{
		Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: true},
			network,
		}},
		// One handler, the default.
		RuntimeHandlers: []*runtimeapi.RuntimeHandler{{Name: "", Features: &runtimeapi.RuntimeHandlerFeatures{
			RecursiveReadOnlyMounts: s.cfg.Features.RecursiveReadOnlyMounts,
			UserNamespaces:          s.cfg.Features.UserNamespaces,
		}}},
		Features: &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}
	if req.GetVerbose() {
		check := "OK"
		if netErr != nil {
			check = netErr.Error()
		}
		cfg, err := json.Marshal(map[string]string{"podCIDR": s.cfg.Runtime.PodCIDR(), "imageFsDir": s.cfg.ImageFsDir,
			"stateDir": s.cfg.StateDir, "cgroupDriver": "cgroupfs"})
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Info = map[string]string{"config": string(cfg), "lastCNILoadStatus": check}
	}
	return resp, nil
}

// networkNotReadyReason is the NetworkReady condition's reason when false,
// the kubelet's and containerd's wording.
const networkNotReadyReason = "NetworkPluginNotReady"
