package cri

import (
	"context"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListPodSandbox lists the CRI sandboxes (never podd's own pods), filtered
// by ID (or a unique-enough prefix of it), state and labels.
func (s *runtimeService) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	sbs, err := s.cfg.Sandboxes.List(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	f := req.GetFilter()
	resp := &runtimeapi.ListPodSandboxResponse{}
	for _, sb := range sbs {
		cfg := sb.config()
		if !sandboxMatches(f, sb, cfg) {
			continue
		}
		resp.Items = append(resp.Items, &runtimeapi.PodSandbox{
			Id: sb.ID, Metadata: cfg.GetMetadata(), State: sb.state(), CreatedAt: sb.CreatedAt.UnixNano(),
			Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		})
	}
	return resp, nil
}

func sandboxMatches(f *runtimeapi.PodSandboxFilter, sb Sandbox, cfg *runtimeapi.PodSandboxConfig) bool {
	if f == nil {
		return true
	}
	if f.GetId() != "" && !strings.HasPrefix(sb.ID, f.GetId()) {
		return false
	}
	if f.GetState() != nil && f.GetState().GetState() != sb.state() {
		return false
	}
	return labelsMatch(f.GetLabelSelector(), cfg.GetLabels())
}
