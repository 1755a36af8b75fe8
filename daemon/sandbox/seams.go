package sandbox

import (
	"context"

	"google.golang.org/grpc"

	"github.com/podd-dev/podd/network"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// The service reaches the host through these small interfaces, so that its
// rollback and teardown paths run in unit tests against fakes
// (daemon/podworker/podworkertest).

// ShimClient is one pod's running shim.
type ShimClient interface {
	Info(ctx context.Context, in *shimv1.InfoRequest, opts ...grpc.CallOption) (*shimv1.InfoResponse, error)
	CreateContainer(ctx context.Context, in *shimv1.CreateContainerRequest, opts ...grpc.CallOption) (*shimv1.CreateContainerResponse, error)
	StartContainer(ctx context.Context, in *shimv1.StartContainerRequest, opts ...grpc.CallOption) (*shimv1.StartContainerResponse, error)
	Signal(ctx context.Context, in *shimv1.SignalRequest, opts ...grpc.CallOption) (*shimv1.SignalResponse, error)
	State(ctx context.Context, in *shimv1.StateRequest, opts ...grpc.CallOption) (*shimv1.StateResponse, error)
	Events(ctx context.Context, in *shimv1.EventsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[shimv1.ContainerState], error)
	Remove(ctx context.Context, in *shimv1.RemoveRequest, opts ...grpc.CallOption) (*shimv1.RemoveResponse, error)
	Update(ctx context.Context, in *shimv1.UpdateRequest, opts ...grpc.CallOption) (*shimv1.UpdateResponse, error)
	ReopenLog(ctx context.Context, in *shimv1.ReopenLogRequest, opts ...grpc.CallOption) (*shimv1.ReopenLogResponse, error)
	Exec(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.ExecRequest, shimv1.ExecResponse], error)
	Attach(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.AttachRequest, shimv1.AttachResponse], error)
	// Stop shuts the shim down (force: kill what runs first) and waits
	// until it is gone. A shim that died without its teardown (killed)
	// stopped nothing: the error then wraps shim.ErrGone and the pod
	// cgroup still holds what it ran.
	Stop(ctx context.Context, force bool) error
	// Exited reports that a shim this daemon launched has been reaped.
	Exited() bool
	// CanHold reports whether the shim can hold a container before its
	// program (CreateContainerRequest.hold), as it said when connected.
	CanHold() bool
	// PinnedNamespaces lists the namespace types the shim made for the
	// pause as it started, as it said when connected.
	PinnedNamespaces() []string
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

// hostShims is Shims on this host: podd-shim processes and cgroups.
type hostShims struct {
	// spares, when set, launches shims through a spare (shim.Spares).
	spares *shim.Spares
}

// HostShims returns the Shims of this host.
func HostShims() Shims { return hostShims{} }

// HostShimsWithSpares returns the Shims of this host that launch through
// spares.
func HostShimsWithSpares(spares *shim.Spares) Shims { return hostShims{spares: spares} }

func (h hostShims) Launch(ctx context.Context, cfg shim.LaunchConfig) (ShimClient, error) {
	launch := shim.Launch
	if h.spares != nil {
		launch = h.spares.Launch
	}
	cl, err := launch(ctx, cfg)
	if err != nil {
		return nil, err // a nil *shim.Client must not become a non-nil interface
	}
	return cl, nil
}

func (hostShims) Connect(ctx context.Context, stateDir string) (ShimClient, error) {
	cl, err := shim.Connect(ctx, stateDir)
	if err != nil {
		return nil, err
	}
	return cl, nil
}

func (hostShims) Kill(stateDir, cgroup string) error { return shimdir.Kill(stateDir, cgroup) }
func (hostShims) RemoveCgroup(cgroup string) error   { return shimdir.RemoveCgroup(cgroup) }
func (hostShims) Gone(ctx context.Context, stateDir string) error {
	return shim.Gone(ctx, stateDir)
}
