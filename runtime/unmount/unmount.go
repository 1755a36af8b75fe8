// Package unmount is podd's one way to take down a tree of mounts (a pod's
// volumes, a staging dir, a container rootfs, what a crash left under a pod
// dir): it makes every mount private, then detaches them with
// github.com/moby/sys/mount.
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

// maxRounds bounds All: each round takes down the top of each stack of
// mounts on one mount point.
const maxRounds = 8

// All detaches every mount at or below dir, stacked ones included. Every
// mount is made private first, shallowest first, so that no unmount
// propagates to the host (a Bidirectional volumeMount's staging shares a
// peer group with its source); then they are detached, deepest first. A
// dir that does not exist or holds no mount is fine.
func All(dir string) error {
	dir = filepath.Clean(dir)
	for round := 0; ; round++ {
		ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
		if err != nil {
			return fmt.Errorf("unmount below %s: read mount table: %w", dir, err)
		}
		if len(ms) == 0 {
			return nil
		}
		if round == maxRounds {
			return fmt.Errorf("unmount below %s: %s still mounted after %d rounds", dir, ms[0].Mountpoint, maxRounds)
		}
		if err := detach(dir, ms); err != nil {
			return fmt.Errorf("unmount below %s: %w", dir, err)
		}
	}
}

// detach makes the mounts ms private and detaches the tree at dir.
func detach(dir string, ms []*mountinfo.Info) error {
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) < len(ms[j].Mountpoint) })
	for _, m := range ms {
		err := mount.Mount("", m.Mountpoint, "none", "rprivate")
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("make %s private: %w", m.Mountpoint, err)
		}
	}
	return mount.RecursiveUnmount(dir)
}
