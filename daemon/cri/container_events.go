package cri

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ErrEventsDropped is a subscription dropped because its client did not
// keep up with the changes.
var ErrEventsDropped = errors.New("the client fell too far behind the container events and was dropped; subscribe again")

// GetContainerEvents streams every container and sandbox change from the
// call on (the kubelet's evented PLEG), each with its sandbox's status and
// its containers' statuses as they are when sent. A client that falls
// behind is dropped with ResourceExhausted, never blocking the registries.
func (s *runtimeService) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	ctx := stream.Context()
	sub := s.cfg.Events.Subscribe()
	defer sub.Close()
	slog.Info("CRI event stream opened")
	defer slog.Info("CRI event stream closed")
	for {
		ev, err := sub.Next(ctx)
		switch {
		case errors.Is(err, ErrEventsDropped):
			return status.Error(codes.ResourceExhausted, err.Error())
		case err != nil:
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(s.containerEvent(ctx, ev)); err != nil {
			return err
		}
	}
}

// containerEvent is ev with its sandbox's status (none once removed) and
// the statuses of the sandbox's containers.
func (s *runtimeService) containerEvent(ctx context.Context, ev Event) *runtimeapi.ContainerEventResponse {
	resp := &runtimeapi.ContainerEventResponse{
		ContainerId: ev.ContainerID, ContainerEventType: ev.Type, CreatedAt: ev.At.UnixNano(),
		ContainersStatuses: []*runtimeapi.ContainerStatus{},
	}
	if sb, err := s.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: ev.SandboxID}); err == nil {
		resp.PodSandboxStatus = sb.GetStatus()
	}
	cs, err := s.cfg.Containers.List(ctx)
	if err != nil {
		return resp
	}
	for _, c := range cs {
		if c.SandboxID != ev.SandboxID {
			continue
		}
		if st, err := s.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ID}); err == nil {
			resp.ContainersStatuses = append(resp.ContainersStatuses, st.GetStatus())
		}
	}
	return resp
}
