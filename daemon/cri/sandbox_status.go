package cri

import (
	"context"
	"encoding/json"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSandboxStatus reports a sandbox: state, creation time, IPs, network
// namespace mode, labels and annotations; verbose adds an "info" entry.
func (s *runtimeService) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, invalid("pod_sandbox_id is required")
	}
	sb, err := s.cfg.Sandboxes.Get(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, toStatus(err)
	}
	cfg := sb.config()
	st := &runtimeapi.PodSandboxStatus{
		Id: sb.ID, Metadata: cfg.GetMetadata(), State: sb.state(), CreatedAt: sb.CreatedAt.UnixNano(),
		Network: &runtimeapi.PodSandboxNetworkStatus{},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{
			Options: cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(),
		}},
		Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
	}
	if cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() != runtimeapi.NamespaceMode_NODE && len(sb.IPs) > 0 {
		// A host-network sandbox has the node's addresses: the client knows them.
		st.Network.Ip = sb.IPs[0]
		for _, ip := range sb.IPs[1:] {
			st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
		}
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st}
	if req.GetVerbose() {
		info, err := json.Marshal(sandboxInfo{
			ID: sb.ID, State: st.State.String(), NetnsPath: sb.NetnsPath, IPs: sb.IPs,
			RuntimeHandler: "", Config: cfg,
		})
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

// sandboxInfo is PodSandboxStatus's verbose "info", as containerd's.
type sandboxInfo struct {
	ID             string                       `json:"id"`
	State          string                       `json:"state"`
	NetnsPath      string                       `json:"netNamespacePath,omitempty"`
	IPs            []string                     `json:"ips,omitempty"`
	RuntimeHandler string                       `json:"runtimeHandler"`
	Config         *runtimeapi.PodSandboxConfig `json:"config"`
}
