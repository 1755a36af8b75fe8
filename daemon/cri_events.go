package daemon

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/daemon/cri"
	"github.com/podd-dev/podd/daemon/sandbox"
)

// criEvents is the registries' change broker as the CRI edge uses it.
type criEvents struct{ ev *sandbox.Events }

func (c criEvents) Subscribe() cri.Subscription {
	return criSubscription{c.ev.Subscribe(sandbox.EventBuffer)}
}

type criSubscription struct{ s *sandbox.Subscription }

var criEventTypes = map[sandbox.EventType]runtimeapi.ContainerEventType{
	sandbox.EventCreated: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT,
	sandbox.EventStarted: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
	sandbox.EventStopped: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
	sandbox.EventDeleted: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
}

func criEvent(e sandbox.Event) cri.Event {
	return cri.Event{ContainerID: e.ContainerID, SandboxID: e.SandboxID, Type: criEventTypes[e.Type], At: e.At}
}

// Next delivers the events buffered before a drop, then the drop.
func (c criSubscription) Next(ctx context.Context) (cri.Event, error) {
	select {
	case e := <-c.s.C:
		return criEvent(e), nil
	default:
	}
	select {
	case e := <-c.s.C:
		return criEvent(e), nil
	case <-c.s.Dropped:
		return cri.Event{}, cri.ErrEventsDropped
	case <-ctx.Done():
		return cri.Event{}, ctx.Err()
	}
}

func (c criSubscription) Close() { c.s.Close() }
