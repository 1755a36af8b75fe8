// Package rootfs mounts and unmounts a container's root filesystem: an
// overlay of the image's unpacked layer directories (read-only lower dirs)
// with a per-container upper and work directory. Root only.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/unmount"
)

// Mount mounts the overlay rootfs of one container under dir and returns
// the merged directory, dir/merged. lowerDirs are the image's layer
// directories in image order, OLDEST (base) layer first, exactly as
// image.Store.Layers returns them; Mount puts them in overlayfs order
// itself. dir/upper and dir/work, created if missing, take the
// container's writes. The overlay is mounted nodev: no device node in the
// rootfs opens (the container's /dev is a tmpfs of its own). If
// dir/merged is already an overlay mount, Mount returns it unchanged.
// With ids, it is the root of a container in a user namespace with those
// mappings (see mapLayers).
func Mount(lowerDirs []string, dir string, ids *idmap.Mappings) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
	}
	upper, work, merged := UpperDir(dir), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{dir, upper, work, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
		}
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
	}
	upper, work, merged = UpperDir(dir), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	if ok, err := isOverlay(merged); err != nil || ok {
		if err != nil {
			return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
		}
		return merged, nil
	}
	if ids != nil {
		mapped, release, err := mapLayers(lowerDirs, dir, *ids)
		if err != nil {
			return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
		}
		defer release()
		lowerDirs = mapped
		if err := chownToRoot(upper, *ids); err != nil {
			return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
		}
	}
	data, chdir, err := overlayOptions(lowerDirs, upper, work, unix.Getpagesize()-1)
	if err != nil {
		return "", fmt.Errorf("mount rootfs at %s: %w", dir, err)
	}
	if err := mountOverlay(chdir, merged, data, mountFlags); err != nil {
		return "", fmt.Errorf("mount rootfs at %s: mount overlay (%d lower dirs): %w", dir, len(lowerDirs), err)
	}
	return merged, nil
}

// MountView mounts a read-only view of lowerDirs (oldest first, as Mount
// takes them) under dir and returns it, dir/merged: an overlay without an
// upper dir, so nothing can be written to it. Overlayfs wants two lower
// dirs without an upper one: a single layer is stacked on dir/empty. Like
// the rootfs, the view is nodev; Unmount undoes it. If dir/merged is
// already an overlay mount, MountView returns it unchanged. With ids, it
// is seen from a user namespace with those mappings (see mapLayers).
func MountView(lowerDirs []string, dir string, ids *idmap.Mappings) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("mount image view at %s: %w", dir, err)
	}
	empty, merged := filepath.Join(dir, "empty"), filepath.Join(dir, "merged")
	for _, d := range []string{dir, empty, merged} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("mount image view at %s: %w", dir, err)
		}
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return "", fmt.Errorf("mount image view at %s: %w", dir, err)
	}
	empty, merged = filepath.Join(dir, "empty"), filepath.Join(dir, "merged")
	if ok, err := isOverlay(merged); err != nil || ok {
		if err != nil {
			return "", fmt.Errorf("mount image view at %s: %w", dir, err)
		}
		return merged, nil
	}
	lowers := lowerDirs
	if len(lowers) == 1 {
		lowers = []string{empty, lowers[0]}
	}
	if ids != nil {
		mapped, release, err := mapLayers(lowers, dir, *ids)
		if err != nil {
			return "", fmt.Errorf("mount image view at %s: %w", dir, err)
		}
		defer release()
		lowers = mapped
	}
	data, chdir, err := overlayOptions(lowers, "", "", unix.Getpagesize()-1)
	if err != nil {
		return "", fmt.Errorf("mount image view at %s: %w", dir, err)
	}
	if err := mountOverlay(chdir, merged, data, mountFlags|unix.MS_RDONLY); err != nil {
		return "", fmt.Errorf("mount image view at %s: mount overlay (%d lower dirs): %w", dir, len(lowerDirs), err)
	}
	return merged, nil
}

// UpperDir is where the writes of the rootfs Mount makes in dir land (its
// writable layer).
func UpperDir(dir string) string { return filepath.Join(dir, "upper") }

// readMounts reads the mount table (a variable: tests count the reads).
var readMounts = mountinfo.GetMounts

// isOverlay says whether an overlay is mounted at path: a mount at path,
// as the mount table names it (path itself, never a symlink's target),
// is of type overlay. The mount table grows with every pod's mounts, so
// it is read only when the cheap answer is not exact: path is not a mount
// point at all (statx STATX_ATTR_MOUNT_ROOT), or it is the root of an
// overlay mount (fstatfs), settles it; something else mounted there
// (possibly over an overlay) asks the table, as does a path that cannot be
// opened as a directory without following a symlink, or a kernel that
// does not report mount roots.
func isOverlay(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return isOverlayInTable(path)
	}
	defer unix.Close(fd)
	var st unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_TYPE, &st); err != nil ||
		st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return isOverlayInTable(path)
	}
	if st.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return false, nil
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err == nil && fs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return true, nil
	}
	return isOverlayInTable(path)
}

// isOverlayInTable is isOverlay by the mount table alone.
func isOverlayInTable(path string) (bool, error) {
	ms, err := readMounts(mountinfo.SingleEntryFilter(path))
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.FSType == "overlay" {
			return true, nil
		}
	}
	return false, nil
}

// mountFlags are the rootfs mount's flags. Not nosuid: images' set-id
// binaries (ping, su) must keep working; the device cgroup and nodev are
// what keep device nodes out.
const mountFlags = unix.MS_NODEV

// mountOverlay mounts at target with flags; with chdir set, from a thread whose
// working directory is chdir, so relative lower dirs resolve there.
func mountOverlay(chdir, target, data string, flags uintptr) error {
	if chdir == "" {
		return unix.Mount("overlay", target, "overlay", flags, data)
	}
	errc := make(chan error, 1)
	go func() {
		// Unsharing CLONE_FS gives this thread its own working directory, so
		// the chdir touches no other goroutine. The thread stays locked and
		// so exits with this goroutine instead of returning to the pool.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare fs: %w", err)
			return
		}
		if err := unix.Chdir(chdir); err != nil {
			errc <- fmt.Errorf("chdir %s: %w", chdir, err)
			return
		}
		errc <- unix.Mount("overlay", target, "overlay", flags, data)
	}()
	return <-errc
}

// Unmount unmounts everything mounted at or under dir (lazily if busy)
// and removes dir. A dir that is already gone is success. Nothing is
// deleted through a mount (unmount.RemoveAll), and a rootfs with only its
// overlay mounted costs no read of the mount table.
func Unmount(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", dir, err)
	}
	if real == "/" {
		return fmt.Errorf("unmount rootfs %s: refusing to remove /", dir)
	}
	// The overlay goes first, found without the mount table; anything
	// else mounted under dir sends RemoveAll to the table.
	if err := unmount.Detach(filepath.Join(real, "merged")); err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", dir, err)
	}
	if err := unmount.RemoveAll(real); err != nil {
		return fmt.Errorf("unmount rootfs %s: %w", dir, err)
	}
	return nil
}
