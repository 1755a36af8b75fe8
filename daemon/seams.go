package daemon

import (
	"context"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/runtime/image"
)

// The daemon reaches the host through the pod worker's seams plus these two,
// so that a Daemon runs in unit tests on the fakes of package
// podworker/podworkertest. Production wires the host's implementations
// (newDaemon); tests call assemble with fakes.

// imageStore is the image store as the daemon and its workers use it.
type imageStore interface {
	podworker.Images
	Import(ctx context.Context, path, name string) ([]image.Image, error)
	List(ctx context.Context) ([]image.Image, error)
	Remove(ctx context.Context, ref string) (image.Removed, error)
	PruneLayers(ctx context.Context, inUse []string) ([]string, error)
	// RawConfig returns the config blob of the image with manifest digest.
	RawConfig(ctx context.Context, digest string) ([]byte, error)
	Usage(ctx context.Context) (image.Usage, error)
}

// podNetwork is the pod network as the daemon and its workers use it.
type podNetwork interface {
	podworker.Network
	// GC releases the attachments of every sandbox not in live.
	GC(ctx context.Context, live []string) error
	// Resources names what the network makes on the host.
	Resources() cni.Resources
	// Ready reports whether a network configuration is in place.
	Ready() error
}

// hostParts are what the daemon drives on the host.
type hostParts struct {
	images  imageStore
	network podNetwork
	shims   podworker.Shims
	// volumes and rootfs nil: the host's.
	volumes podworker.Volumes
	rootfs  podworker.Rootfs
	// shimBinary and pauseBinary are the helper binaries shims run.
	shimBinary, pauseBinary string
	// rules nil: the Service rules are kept in memory only (tests).
	rules ruleSyncer
	// warmMigrations is called when sandboxes are coming
	// (shimdir.WarmMigrations); nil: never.
	warmMigrations func()
}
