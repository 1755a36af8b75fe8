package cri

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/spec"
)

// ExecOptions is one process to run in a CRI container.
type ExecOptions struct {
	Cmd     []string
	Tty     bool
	Stdin   io.Reader     // nil: no stdin
	Stdout  io.Writer     // nil: discarded
	Stderr  io.Writer     // nil: discarded (unused with Tty)
	Resize  <-chan Size   // terminal sizes, nil without Tty
	Timeout time.Duration // 0: none; a timed-out process is killed and the call returns ErrExecTimeout
}

// Size is a terminal's size.
type Size struct{ Width, Height uint16 }

// ErrExecTimeout is returned by Containers.Exec for a process killed at
// its timeout (with the exit code it got).
var ErrExecTimeout = errors.New("exec timed out")

// Containers is podd's container service as the CRI calls use it: the
// same host steps (rootfs from the image's layers, spec, shim) that podd's
// own pods' containers are made with. podd never restarts, probes or
// collects these containers: the CRI client does.
type Containers interface {
	// Create makes a container in a ready sandbox, recorded CREATED, with
	// its image volumes mounted; one of the same name and attempt in the
	// sandbox is refused (errdefs.ErrAlreadyExists), an unknown sandbox or
	// image is errdefs.ErrNotFound, an image volume's sub path missing in
	// its image errdefs.ErrInvalidArgument.
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)
	// Start runs a created container.
	Start(ctx context.Context, id string) error
	// Stop sends the stop signal, then SIGKILL after timeout; an unknown
	// or stopped container succeeds.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Remove stops and forgets a container; an unknown ID succeeds.
	Remove(ctx context.Context, id string) error
	// Get returns one container; an unknown ID is errdefs.ErrNotFound.
	Get(ctx context.Context, id string) (Container, error)
	// List returns every container, oldest first.
	List(ctx context.Context) ([]Container, error)
	// Update sets a created or running container's CPU and memory limits
	// (zero: left as it is) and keeps config, its ContainerConfig as
	// updated; an exited container is errdefs.ErrFailedPrecondition.
	Update(ctx context.Context, id string, res *shimv1.Resources, config []byte) error
	// ReopenLog reopens a running container's log file (after the client
	// moved it); one not running is errdefs.ErrFailedPrecondition.
	ReopenLog(ctx context.Context, id string) error
	// Exec runs a process in a running container: an unknown container
	// is errdefs.ErrNotFound, one not running errdefs.ErrFailedPrecondition.
	Exec(ctx context.Context, containerID string, opts ExecOptions) (exitCode int32, err error)
}

// ContainerSpec is a CreateContainer request in podd's terms.
type ContainerSpec struct {
	SandboxID, Name     string
	Attempt             uint32
	Image               string
	Labels, Annotations map[string]string
	// LogPath is the sandbox's log directory joined with the container's
	// log path ("": no log).
	LogPath string
	// Config is the request's ContainerConfig (protobuf), kept with the
	// container for its status.
	Config []byte
	// Process is the container's process and security, built by
	// runtime/spec once the sandbox and the image are known.
	Process spec.CRIInput
}

// Container is a container as recorded and observed.
type Container struct {
	ID, SandboxID string
	// Image is the image as asked; ImageID its ID; ImageRef the digest
	// reference it resolved to.
	Image, ImageID, ImageRef string
	State                    runtimeapi.ContainerState
	Pid                      int32
	CreatedAt                time.Time
	StartedAt, FinishedAt    time.Time
	ExitCode                 int32
	Reason, Message          string
	LogPath                  string
	// Config is ContainerSpec.Config.
	Config []byte
	// User is the identity the container's process starts with (nil:
	// not known).
	User *runtimeapi.LinuxContainerUser
	// ImageVolumes maps the container path of each image volume to the
	// ID of the image mounted there.
	ImageVolumes map[string]string
}

// config decodes the container's ContainerConfig.
func (c Container) config() *runtimeapi.ContainerConfig {
	cfg := &runtimeapi.ContainerConfig{}
	proto.Unmarshal(c.Config, cfg) // written by CreateContainer; an old or bad one reads as empty
	return cfg
}
