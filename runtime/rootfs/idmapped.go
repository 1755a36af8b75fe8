package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/idmap"
)

// mapLayers makes, for a container in a user namespace with mappings ids,
// an idmapped mount of each layer dir (overlayfs cannot be idmapped, its
// layers can: Linux 5.19+), so that the image's files show as owned by the
// IDs ids maps them to, as containerd's overlay snapshotter does. It
// returns their paths in the order of layers: dir/idmapped/<layer's base
// name>, the name LayersInUse compares. release detaches them and removes
// their dirs: once the overlay is mounted it holds private copies of its
// layers, so they leave nothing behind but their names in its options.
func mapLayers(layers []string, dir string, ids idmap.Mappings) (mapped []string, release func(), err error) {
	base := filepath.Join(dir, "idmapped")
	release = func() {
		// Never RemoveAll: a layer still mounted here would be emptied.
		if ents, err := os.ReadDir(base); err == nil {
			for _, de := range ents {
				at := filepath.Join(base, de.Name())
				_ = unix.Unmount(at, unix.MNT_DETACH)
				_ = os.Remove(at)
			}
		}
		_ = os.Remove(base)
	}
	userns, err := idmap.Userns(ids)
	if err != nil {
		return nil, nil, err
	}
	defer userns.Close()
	release()
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, nil, fmt.Errorf("idmapped layers: %w", err)
	}
	from := map[string]string{}
	for _, l := range layers {
		l = filepath.Clean(l)
		at := filepath.Join(base, filepath.Base(l))
		if src, ok := from[at]; ok {
			if src != l {
				release()
				return nil, nil, fmt.Errorf("idmapped layers: %s and %s have the same name", src, l)
			}
			mapped = append(mapped, at)
			continue
		}
		from[at] = l
		err := os.Mkdir(at, 0o700)
		if err == nil {
			err = idmap.Bind(l, at, userns)
		}
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("idmapped layers: %w", err)
		}
		mapped = append(mapped, at)
	}
	return mapped, release, nil
}

// chownToRoot gives dir (not what it holds) to the host IDs of ids's
// root: the upper dir's root is the container's root directory.
func chownToRoot(dir string, ids idmap.Mappings) error {
	uid, gid, err := ids.HostRoot()
	if err != nil {
		return err
	}
	if err := os.Lchown(dir, int(uid), int(gid)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("give %s to the user namespace's root: %w", dir, err)
	}
	return nil
}

// probeIDs are what ProbeIDMapped maps with: any mappings will do.
var probeIDs = idmap.Mappings{
	UIDs: []idmap.Range{{ContainerID: 0, HostID: 65536, Size: 65536}},
	GIDs: []idmap.Range{{ContainerID: 0, HostID: 65536, Size: 65536}},
}

// probePrefix names ProbeIDMapped's scratch dirs.
const probePrefix = ".idmap-probe-"

// RemoveProbeLeftovers unmounts and removes the scratch dirs of probes a
// kill cut short in dir. A daemon calls it when it starts: it probes only
// when first asked, so an earlier run's mount would outlive the restart.
func RemoveProbeLeftovers(dir string) {
	old, err := filepath.Glob(filepath.Join(dir, probePrefix+"*"))
	if err != nil {
		return
	}
	for _, d := range old {
		_ = Unmount(d)
	}
}

// ProbeIDMapped returns nil when a rootfs with idmapped layers can be
// mounted in dir's filesystem here (idmapped mounts of it, Linux 5.12+,
// and overlayfs over idmapped layers, 5.19+), else why not. It mounts one
// in a scratch dir of dir and removes it, and what an interrupted probe
// left.
func ProbeIDMapped(dir string) error {
	RemoveProbeLeftovers(dir)
	if err := idmap.Supported(dir); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, probePrefix)
	if err != nil {
		return fmt.Errorf("probe idmapped rootfs: %w", err)
	}
	defer Unmount(tmp)
	lower := filepath.Join(tmp, "lower")
	if err := os.Mkdir(lower, 0o755); err != nil {
		return fmt.Errorf("probe idmapped rootfs: %w", err)
	}
	if _, err := Mount([]string{lower}, filepath.Join(tmp, "ctr"), &probeIDs); err != nil {
		return fmt.Errorf("probe idmapped rootfs: %w", err)
	}
	return nil
}
