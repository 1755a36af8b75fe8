package podworker

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/runtime/volume"
)

// HostShims returns the Shims of this host, for callers besides the worker
// (the daemon's start-up GC).
func HostShims() Shims { return sandbox.HostShims() }

// hostVolumes is Volumes on this host (runtime/volume).
type hostVolumes struct{}

func (hostVolumes) Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	return volume.Prepare(ctx, pod, podDir)
}

func (hostVolumes) Cleanup(ctx context.Context, podDir string) error {
	return volume.Cleanup(ctx, podDir)
}

// shims, volumes and rootfs are the seams Deps sets, or the host's.
func (d *Deps) shims() Shims {
	if d.Shims != nil {
		return d.Shims
	}
	return sandbox.HostShims()
}

func (d *Deps) volumes() Volumes {
	if d.Volumes != nil {
		return d.Volumes
	}
	return hostVolumes{}
}

func (d *Deps) rootfs() Rootfs {
	if d.Rootfs != nil {
		return d.Rootfs
	}
	return sandbox.HostRootfs()
}
