package podworker

import (
	"context"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/network"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/shim"
)

// The worker reaches the host through these small interfaces, so that its
// rollback, kill and restore paths run in unit tests against fakes (as
// Nomad's task runner runs against a mock driver). Deps leaves a field nil
// to get the host's implementation.

// ShimClient is one pod's running shim, as the worker uses it.
type ShimClient interface {
	CreateContainer(ctx context.Context, in *shimv1.CreateContainerRequest, opts ...grpc.CallOption) (*shimv1.CreateContainerResponse, error)
	Signal(ctx context.Context, in *shimv1.SignalRequest, opts ...grpc.CallOption) (*shimv1.SignalResponse, error)
	State(ctx context.Context, in *shimv1.StateRequest, opts ...grpc.CallOption) (*shimv1.StateResponse, error)
	Events(ctx context.Context, in *shimv1.EventsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[shimv1.ContainerState], error)
	Remove(ctx context.Context, in *shimv1.RemoveRequest, opts ...grpc.CallOption) (*shimv1.RemoveResponse, error)
	Exec(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.ExecRequest, shimv1.ExecResponse], error)
	// Stop shuts the shim down (force: kill what runs first) and waits
	// until it is gone.
	Stop(ctx context.Context, force bool) error
	// Exited reports that a shim this daemon launched has been reaped.
	Exited() bool
	Close() error
}

// Shims starts, finds and kills the pods' shims.
type Shims interface {
	// Launch starts the shim of a pod and returns once it answers.
	Launch(ctx context.Context, cfg shim.LaunchConfig) (ShimClient, error)
	// Connect attaches to the running shim of stateDir; the error wraps
	// fs.ErrNotExist when there is no shim socket at all.
	Connect(ctx context.Context, stateDir string) (ShimClient, error)
	// Kill kills the shim of stateDir and everything in cgroup, and
	// removes the cgroup.
	Kill(stateDir, cgroup string) error
	// RemoveCgroup removes an empty cgroup.
	RemoveCgroup(cgroup string) error
	// Gone returns an error wrapping shim.ErrGone when there is evidence
	// that the shim of stateDir no longer runs, nil when there is none.
	Gone(ctx context.Context, stateDir string) error
}

// Network pins a sandbox's netns with its CNI attachment and releases it.
type Network interface {
	Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error)
	// Teardown succeeds for a sandbox already gone or never made.
	Teardown(ctx context.Context, sandboxID string) error
}

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

// Rootfs mounts and unmounts container root filesystems.
type Rootfs interface {
	// Mount stacks layers (lowest first) under dir and returns the root.
	Mount(layers []string, dir string) (string, error)
	// Unmount unmounts and removes dir; a missing dir is done.
	Unmount(dir string) error
}

// StateStore keeps a pod's worker state across daemon restarts.
type StateStore interface {
	// SaveState writes the state atomically; what it returns is durable.
	SaveState(uid string, v any) error
	// RemovePod forgets the pod and its state.
	RemovePod(uid string) error
}
