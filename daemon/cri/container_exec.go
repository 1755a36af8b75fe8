package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Exec checks an exec request against its container and returns the
// streaming server's one-time URL for it.
func (s *runtimeService) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	streams, err := s.streamContainers("Exec")
	if err != nil {
		return nil, err
	}
	if len(req.GetCmd()) == 0 {
		return nil, invalid("cmd: must not be empty")
	}
	if err := checkStreams(req.GetContainerId(), req.GetTty(), req.GetStdin(), req.GetStdout(), req.GetStderr()); err != nil {
		return nil, err
	}
	if _, err := s.runningContainer(ctx, req.GetContainerId(), "exec in"); err != nil {
		return nil, err
	}
	resp, err := streams.srv.GetExec(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return resp, nil
}

// streamContainers is the streaming server when it can exec and attach.
func (s *runtimeService) streamContainers(call string) (*StreamServer, error) {
	if s.cfg.Streams == nil || s.cfg.Streams.containers == nil {
		return nil, status.Error(codes.Unimplemented, notYetMessage("/"+call))
	}
	return s.cfg.Streams, nil
}

// checkStreams is the kubelet's check of an exec or attach request's
// streams.
func checkStreams(containerID string, tty, stdin, stdout, stderr bool) error {
	if containerID == "" {
		return invalid("container_id is required")
	}
	if tty && stderr {
		return invalid("stderr: must be false with tty (a terminal carries stderr in stdout)")
	}
	if !stdin && !stdout && !stderr {
		return invalid("stdin, stdout, stderr: at least one must be true")
	}
	return nil
}

// runningContainer returns a container the streaming calls may use: it
// exists and runs.
func (s *runtimeService) runningContainer(ctx context.Context, id, verb string) (Container, error) {
	c, err := s.cfg.Streams.containers.Get(ctx, id)
	if err != nil {
		return Container{}, toStatus(err)
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return Container{}, status.Errorf(codes.FailedPrecondition, "%s container %q: it is %s, not running", verb, id, c.State)
	}
	return c, nil
}
