package podworker

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/runtime/image"
)

// The worker reaches the host through these small interfaces, so that its
// rollback, kill and restore paths run in unit tests against fakes (as
// Nomad's task runner runs against a mock driver). Deps leaves a field nil
// to get the host's implementation.

// ShimClient, Shims and Network are the sandbox service's seams
// (daemon/sandbox), which the worker shares with the CRI server.
type (
	ShimClient = sandbox.ShimClient
	Shims      = sandbox.Shims
	Network    = sandbox.Network
	// Rootfs mounts and unmounts container root filesystems.
	Rootfs = sandbox.Rootfs
)

// Volumes prepares a pod's volumes and cleans them up.
type Volumes interface {
	// Prepare is idempotent and returns the host path of each volume.
	Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error)
	Cleanup(ctx context.Context, podDir string) error
}

// Images finds, pulls and unpacks container images.
type Images interface {
	Get(ctx context.Context, ref string) (image.Image, error)
	Pull(ctx context.Context, ref string, opts image.PullOptions) (image.Image, error)
	Layers(ctx context.Context, img image.Image) ([]string, error)
}

// StateStore keeps a pod's worker state across daemon restarts.
type StateStore interface {
	// SaveState writes the state atomically; what it returns is durable.
	SaveState(uid string, v any) error
	// RemovePod forgets the pod and its state.
	RemovePod(uid string) error
}
