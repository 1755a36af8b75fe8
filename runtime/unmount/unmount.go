// Package unmount is podd's one way to take down a tree of mounts (a pod's
// volumes, a staging dir, a container rootfs, what a crash left under a pod
// dir): it makes every mount private (github.com/moby/sys/mount), then
// detaches them.
package unmount

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/moby/sys/mount"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// maxRounds bounds All: each round detaches what one read of the mount
// table shows; another is needed only when a mount was hidden under a
// later mount on one of its parents.
const maxRounds = 8

// getMounts reads the mounts at or below dir from the mount table; a seam
// for tests that count the reads.
var getMounts = func(dir string) ([]*mountinfo.Info, error) {
	return mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
}

// All detaches every mount at or below dir, stacked ones included. Every
// mount is made private first, shallowest first, so that no unmount
// propagates to the host (a Bidirectional volumeMount's staging shares a
// peer group with its source); then they are detached, deepest first. A
// dir that does not exist or holds no mount is fine. The mount table is
// read once (it is long on a busy host) unless a mount was hidden.
func All(dir string) error {
	dir = filepath.Clean(dir)
	for round := 0; ; round++ {
		ms, err := getMounts(dir)
		if err != nil {
			return fmt.Errorf("unmount below %s: read mount table: %w", dir, err)
		}
		if len(ms) == 0 {
			return nil
		}
		if round == maxRounds {
			return fmt.Errorf("unmount below %s: %s still mounted after %d rounds", dir, ms[0].Mountpoint, maxRounds)
		}
		again, err := detach(ms)
		if err != nil {
			return fmt.Errorf("unmount below %s: %w", dir, err)
		}
		if !again {
			return nil
		}
	}
}

// detach makes the mounts ms private, shallowest first, and detaches
// them, deepest first (a stack on one mount point goes one unmount at a
// time). It reports whether a mount was not where the table put it, hidden
// under a later mount on a parent or gone already: the table must be read
// again.
func detach(ms []*mountinfo.Info) (again bool, err error) {
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Mountpoint) < len(ms[j].Mountpoint) })
	for _, m := range ms {
		err := mount.Mount("", m.Mountpoint, "none", "rprivate")
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return false, fmt.Errorf("make %s private: %w", m.Mountpoint, err)
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		err := unix.Unmount(ms[i].Mountpoint, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		switch {
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			again = true
		case err != nil:
			return false, fmt.Errorf("detach %s: %w", ms[i].Mountpoint, err)
		}
	}
	return again, nil
}
