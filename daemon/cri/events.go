package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Event is a change of a CRI container or sandbox (a sandbox's own has
// its ID as ContainerID).
type Event struct {
	ContainerID, SandboxID string
	Type                   runtimeapi.ContainerEventType
	At                     time.Time
}

// Events delivers the registries' changes.
type Events interface {
	// Subscribe returns the changes from now on.
	Subscribe() Subscription
}

// Subscription is one client's changes.
type Subscription interface {
	// Next waits for the next change; it fails when ctx ends or when the
	// client fell too far behind and was dropped (ErrEventsDropped).
	Next(ctx context.Context) (Event, error)
	Close()
}
