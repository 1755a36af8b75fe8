package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Attach checks an attach request against its container and returns the
// streaming server's one-time URL for it.
func (s *runtimeService) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	streams, err := s.streamContainers("Attach")
	if err != nil {
		return nil, err
	}
	if err := checkStreams(req.GetContainerId(), req.GetTty(), req.GetStdin(), req.GetStdout(), req.GetStderr()); err != nil {
		return nil, err
	}
	c, err := s.runningContainer(ctx, req.GetContainerId(), "attach to")
	if err != nil {
		return nil, err
	}
	if req.GetStdin() && !c.config().GetStdin() {
		return nil, status.Errorf(codes.FailedPrecondition, "stdin: container %q was not created with stdin", req.GetContainerId())
	}
	resp, err := streams.srv.GetAttach(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return resp, nil
}
