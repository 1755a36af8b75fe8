package cri

import (
	"bytes"
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxExecSyncOutput caps each of ExecSync's stdout and stderr, as
// containerd does (16 MiB).
const maxExecSyncOutput = 16 << 20

// ExecSync runs a command in a running container and returns its exit
// code and output; one that outlives timeout seconds is killed and the
// call fails with DeadlineExceeded.
func (s *runtimeService) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	if len(req.GetCmd()) == 0 {
		return nil, invalid("cmd is required")
	}
	if req.GetTimeout() < 0 {
		return nil, invalid("timeout %d: must not be negative", req.GetTimeout())
	}
	var stdout, stderr capped
	stdout.limit, stderr.limit = maxExecSyncOutput, maxExecSyncOutput
	code, err := s.cfg.Containers.Exec(ctx, req.GetContainerId(), ExecOptions{
		Cmd: req.GetCmd(), Stdout: &stdout, Stderr: &stderr, Timeout: time.Duration(req.GetTimeout()) * time.Second,
	})
	if errors.Is(err, ErrExecTimeout) {
		return nil, status.Errorf(codes.DeadlineExceeded, "ExecSync %v in container %s: timeout %ds exceeded", req.GetCmd(), req.GetContainerId(), req.GetTimeout())
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, nil
}

// capped is a buffer that keeps the first limit bytes written to it.
type capped struct {
	bytes.Buffer
	limit int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - c.Len(); room < len(p) {
		c.Buffer.Write(p[:max(0, room)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}
