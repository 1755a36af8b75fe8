package diskusage

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultSysRoot is where sysfs is mounted.
const DefaultSysRoot = "/sys"

// FS is the filesystem a directory is on.
type FS struct {
	// Device names the filesystem's device as DeviceName does.
	Device       string
	Major, Minor uint64
	// Capacity and Available are its size and what unprivileged users may
	// still write, in bytes; Inodes and InodesFree its inodes.
	Capacity, Available uint64
	Inodes, InodesFree  uint64
}

// Filesystem is the filesystem dir is on (statfs), its device named from
// sysfs under sysRoot (DefaultSysRoot when empty).
func Filesystem(dir, sysRoot string) (FS, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return FS{}, fmt.Errorf("filesystem of %s: %w", dir, err)
	}
	var sf unix.Statfs_t
	if err := unix.Statfs(dir, &sf); err != nil {
		return FS{}, fmt.Errorf("filesystem of %s: %w", dir, err)
	}
	major, minor := uint64(unix.Major(st.Dev)), uint64(unix.Minor(st.Dev))
	bsize := uint64(sf.Bsize)
	return FS{
		Device: DeviceName(sysRoot, major, minor), Major: major, Minor: minor,
		Capacity: sf.Blocks * bsize, Available: sf.Bavail * bsize, Inodes: sf.Files, InodesFree: sf.Ffree,
	}, nil
}

// DeviceName names a device as cAdvisor labels it: "/dev/<DEVNAME>" when
// sysfs knows it as a block device, else "<major>:<minor>" (an overlay,
// tmpfs or btrfs mount has an anonymous device).
func DeviceName(sysRoot string, major, minor uint64) string {
	if sysRoot == "" {
		sysRoot = DefaultSysRoot
	}
	num := strconv.FormatUint(major, 10) + ":" + strconv.FormatUint(minor, 10)
	b, err := os.ReadFile(filepath.Join(sysRoot, "dev", "block", num, "uevent"))
	if err != nil {
		return num
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok && name != "" {
			return "/dev/" + name
		}
	}
	return num
}
