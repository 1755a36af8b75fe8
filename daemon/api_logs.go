package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/podd-dev/podd/daemon/podworker"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/runtime/crilog"
)

// chunkWriter sends what the log reader writes as LogChunks.
type chunkWriter struct {
	stream poddv1.PodService_LogsServer
}

func (c chunkWriter) Write(p []byte) (int, error) {
	if err := c.stream.Send(&poddv1.LogChunk{Data: append([]byte(nil), p...)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// containerOrDefault picks the only container when none is named.
func containerOrDefault(e *podEntry, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	pod := e.worker.Snapshot()
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	return "", classed(ErrInvalidArgument, "a container name must be specified for pod %s, choose one of: %v", pod.Name, containerNames(pod.Spec.Containers))
}

func (a *api) Logs(req *poddv1.LogsRequest, stream poddv1.PodService_LogsServer) error {
	e, ok := a.d.pods.get(namespaceOr(req.GetNamespace()), req.GetName())
	if !ok {
		return toGRPC(classed(ErrNotFound, "pods %q not found", req.GetName()))
	}
	name, err := containerOrDefault(e, req.GetContainer())
	if err != nil {
		return toGRPC(err)
	}
	path, running, err := e.worker.ContainerLog(name, req.GetPrevious())
	if errors.Is(err, podworker.ErrNoContainer) {
		return toGRPC(classed(ErrInvalidArgument, "%w", err))
	}
	if err != nil {
		return toGRPC(err)
	}
	ctx := stream.Context()
	opts := crilog.ReadOptions{Tail: req.GetTailLines(), Timestamps: req.GetTimestamps(), Follow: req.GetFollow()}
	if opts.Follow {
		opts.Done = doneWhenStopped(ctx, running)
	}
	return toGRPC(crilog.Read(ctx, path, opts, chunkWriter{stream: stream}))
}

// doneWhenStopped closes the returned channel once running reports false.
func doneWhenStopped(ctx context.Context, running func(context.Context) bool) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for running(ctx) {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}
