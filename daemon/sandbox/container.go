package sandbox

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/rootfs"
	"github.com/podd-dev/podd/runtime/volume"
)

// The container host steps that podd's pod workers and the CRI server
// share: a container's root filesystem from its image's layers, the
// unstaging of its mounts, and its removal from the sandbox's shim.

// Rootfs mounts and unmounts container root filesystems.
type Rootfs interface {
	// Mount stacks layers (lowest first) under dir and returns the root;
	// with ids, as the root of a user namespace with those mappings.
	Mount(layers []string, dir string, ids *idmap.Mappings) (string, error)
	// MountView mounts layers (lowest first) read-only under dir and
	// returns the view; with ids, as a user namespace with those mappings
	// sees it.
	MountView(layers []string, dir string, ids *idmap.Mappings) (string, error)
	// Unmount unmounts and removes dir; a missing dir is done.
	Unmount(dir string) error
}

// Layers unpacks an image's layers and lists their directories, lowest
// first.
type Layers interface {
	Layers(ctx context.Context, img image.Image) ([]string, error)
}

// hostRootfs is Rootfs on this host (overlayfs, runtime/rootfs).
type hostRootfs struct{}

// HostRootfs returns the Rootfs of this host.
func HostRootfs() Rootfs { return hostRootfs{} }

func (hostRootfs) Mount(layers []string, dir string, ids *idmap.Mappings) (string, error) {
	return rootfs.Mount(layers, dir, ids)
}
func (hostRootfs) MountView(layers []string, dir string, ids *idmap.Mappings) (string, error) {
	return rootfs.MountView(layers, dir, ids)
}
func (hostRootfs) Unmount(dir string) error { return rootfs.Unmount(dir) }

// MountRootfs unpacks img's layers and mounts them as a container's root
// filesystem in dir, returning the root (with ids, the root of a user
// namespace with those mappings). Nothing is left mounted on an error.
// mark, if not nil, is called with "layers" once they are unpacked.
func MountRootfs(ctx context.Context, layers Layers, fs Rootfs, img image.Image, dir string, ids *idmap.Mappings, mark func(string)) (string, error) {
	ls, err := layers.Layers(ctx, img)
	if err != nil {
		return "", fmt.Errorf("unpack image %s: %w", img.ID, err)
	}
	if mark != nil {
		mark("layers")
	}
	root, err := fs.Mount(ls, dir, ids)
	if err != nil {
		return "", fmt.Errorf("mount rootfs: %w", err)
	}
	return root, nil
}

// UnmountContainer unstages a container's pinned mounts in staging (made
// private first, so no unmount propagates to the host), then unmounts and
// removes its rootfs dir. Both are done for what is already gone.
func UnmountContainer(fs Rootfs, dir, staging string) error {
	return errors.Join(volume.Unstage(staging), fs.Unmount(dir))
}

// RemoveFromShim makes the shim forget container id; one the shim does not
// know is done.
func RemoveFromShim(ctx context.Context, cl ShimClient, id string) error {
	if _, err := cl.Remove(ctx, &shimv1.RemoveRequest{Id: id}); err != nil && status.Code(err) != codes.NotFound {
		return fmt.Errorf("remove container %s from the shim: %w", id, err)
	}
	return nil
}
