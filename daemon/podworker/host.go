package podworker

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/rootfs"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/volume"
)

// hostShims is Shims on this host: podd-shim processes and cgroups.
type hostShims struct{}

// HostShims returns the Shims of this host, for callers besides the worker
// (the daemon's start-up GC).
func HostShims() Shims { return hostShims{} }

func (hostShims) Launch(ctx context.Context, cfg shim.LaunchConfig) (ShimClient, error) {
	cl, err := shim.Launch(ctx, cfg)
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

func (hostShims) Kill(stateDir, cgroup string) error { return shim.Kill(stateDir, cgroup) }
func (hostShims) RemoveCgroup(cgroup string) error   { return shim.RemoveCgroup(cgroup) }
func (hostShims) Gone(ctx context.Context, stateDir string) error {
	return shim.Gone(ctx, stateDir)
}

// hostVolumes is Volumes on this host (runtime/volume).
type hostVolumes struct{}

func (hostVolumes) Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	return volume.Prepare(ctx, pod, podDir)
}

func (hostVolumes) Cleanup(ctx context.Context, podDir string) error {
	return volume.Cleanup(ctx, podDir)
}

// hostRootfs is Rootfs on this host (overlayfs, runtime/rootfs).
type hostRootfs struct{}

func (hostRootfs) Mount(layers []string, dir string) (string, error) {
	return rootfs.Mount(layers, dir)
}
func (hostRootfs) Unmount(dir string) error { return rootfs.Unmount(dir) }

// shims, volumes and rootfs are the seams Deps sets, or the host's.
func (d *Deps) shims() Shims {
	if d.Shims != nil {
		return d.Shims
	}
	return hostShims{}
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
	return hostRootfs{}
}
