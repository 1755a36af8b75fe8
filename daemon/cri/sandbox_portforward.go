package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PortForward checks a port-forward request against its sandbox and returns
// the streaming server's one-time URL for it.
func (s *runtimeService) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if s.cfg.Streams == nil {
		return nil, status.Error(codes.Unimplemented, notYetMessage("/PortForward"))
	}
	if req.GetPodSandboxId() == "" {
		return nil, invalid("pod_sandbox_id is required")
	}
	for i, p := range req.GetPort() {
		if p < 1 || p > 65535 {
			return nil, invalid("port[%d]: %d is not a port number (1-65535)", i, p)
		}
	}
	sb, err := s.cfg.Sandboxes.Get(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, toStatus(err)
	}
	if !sb.Ready {
		return nil, status.Errorf(codes.FailedPrecondition, "port forward to pod sandbox %q: it is not ready", sb.ID)
	}
	resp, err := s.cfg.Streams.srv.GetPortForward(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return resp, nil
}
