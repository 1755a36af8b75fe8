package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/podd-dev/podd/internal/errdefs"
	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec"
)

// ImageVolume is an image a container mounts read-only at a path of its
// own (CRI Mount.image, Kubernetes image volumes).
type ImageVolume struct {
	ContainerPath string
	// Image is the image as the client named it; ImageID its ID.
	Image, ImageID string
}

// mountImageVolumes mounts, for each of mounts that names an image, a
// read-only view of the image's layers in dir/<index> and binds it (or
// its sub path) in the mount's place. The image must be stored (else
// errdefs.ErrNotFound) and a sub path must exist in it (else
// errdefs.ErrInvalidArgument). With ids (a sandbox in its own user
// namespace) the view is seen as from that namespace, and the mount is
// not idmapped again (an overlay cannot be). The caller unmounts dir on a
// failure (unmountImageVolumes).
func mountImageVolumes(ctx context.Context, images ContainerImages, rfs Rootfs, dir string, mounts []spec.CRIMount, ids *idmap.Mappings) ([]ImageVolume, error) {
	var vols []ImageVolume
	for i := range mounts {
		m := &mounts[i]
		if m.Image == "" {
			continue
		}
		img, err := images.Get(ctx, m.Image)
		if err != nil {
			if errors.Is(err, image.ErrNotFound) {
				err = errdefs.Classed(errdefs.ErrNotFound, "%w", err)
			}
			return nil, fmt.Errorf("image volume %s: image %q: %w", m.ContainerPath, m.Image, err)
		}
		layers, err := images.Layers(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("image volume %s: unpack image %s: %w", m.ContainerPath, img.ID, err)
		}
		view, err := rfs.MountView(layers, filepath.Join(dir, strconv.Itoa(i)), ids)
		if err != nil {
			return nil, fmt.Errorf("image volume %s: %w", m.ContainerPath, err)
		}
		src, err := subPathIn(view, m.ImageSubPath)
		if err != nil {
			return nil, fmt.Errorf("image volume %s of image %q: %w", m.ContainerPath, m.Image, err)
		}
		m.HostPath, m.ReadOnly, m.IDMap = src, true, nil
		vols = append(vols, ImageVolume{ContainerPath: m.ContainerPath, Image: m.Image, ImageID: img.ID})
	}
	return vols, nil
}

// subPathIn resolves sub inside root without leaving it (symlinks are
// followed as if root were /); it must exist.
func subPathIn(root, sub string) (string, error) {
	if sub == "" {
		return root, nil
	}
	p, err := securejoin.SecureJoin(root, sub)
	if err != nil {
		return "", fmt.Errorf("sub path %q: %w", sub, err)
	}
	if _, err := os.Lstat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errdefs.Classed(errdefs.ErrInvalidArgument, "sub path %q does not exist in the image", sub)
		}
		return "", fmt.Errorf("sub path %q: %w", sub, err)
	}
	return p, nil
}

// unmountImageVolumes unmounts and removes every image volume under dir,
// then dir; what is gone already is done.
func unmountImageVolumes(rfs Rootfs, dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unmount image volumes: %w", err)
	}
	var errs []error
	for _, de := range ents {
		errs = append(errs, rfs.Unmount(filepath.Join(dir, de.Name())))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unmount image volumes: %w", err)
	}
	return rfs.Unmount(dir)
}
