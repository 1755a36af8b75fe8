package volume

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/moby/sys/mount"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// UnmountAll detaches every mount at or below dir, podd's one way to
// unmount a tree (volumes, staging dirs, what a crash left under a pod
// dir). Every mount is made private first, shallowest first, so that no
// unmount propagates to the host (a Bidirectional volumeMount's staging
// shares a peer group with its source); then github.com/moby/sys/mount
// detaches them, deepest first. A dir that does not exist or holds no
// mount is fine.
func UnmountAll(dir string) error {
	dir = filepath.Clean(dir)
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("unmount below %s: read mount table: %w", dir, err)
	}
	if len(ms) == 0 {
		return nil
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) < len(ms[j].Mountpoint) })
	for _, m := range ms {
		err := mount.Mount("", m.Mountpoint, "none", "rprivate")
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount below %s: make %s private: %w", dir, m.Mountpoint, err)
		}
	}
	if err := mount.RecursiveUnmount(dir); err != nil {
		return fmt.Errorf("unmount below %s: %w", dir, err)
	}
	return nil
}

// unmount detaches the one mount at dir, which podd made; not a mount is
// fine.
func unmount(dir string) error {
	if err := mount.Unmount(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}
