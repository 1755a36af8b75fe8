package rootfs_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/runtime/rootfs"
	"github.com/podd-dev/podd/test/testutil"
)

// The rootfs is mounted nodev: a device node in it (shipped by an image,
// or made by a container with CAP_MKNOD) opens nothing, whatever its mode.
// The container's /dev is a separate tmpfs, so /dev/null still works.
func TestRootfsIsNodev(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	lower := filepath.Join(base, "layers", "l0")
	if err := os.MkdirAll(lower, 0o755); err != nil {
		t.Fatal(err)
	}
	ctr := filepath.Join(base, "ctr")
	t.Cleanup(func() { rootfs.Unmount(ctr) })
	merged, err := rootfs.Mount([]string{lower}, ctr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(merged))
	if err != nil || len(ms) != 1 {
		t.Fatalf("mounts at %s: %v, %v", merged, ms, err)
	}
	if opts := strings.Split(ms[0].Options, ","); !slices.Contains(opts, "nodev") {
		t.Errorf("rootfs mount options %q lack nodev", ms[0].Options)
	}
	null := filepath.Join(merged, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(null, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Errorf("a device node in the rootfs opened")
	}

	inUse, err := rootfs.LayersInUse(base)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inUse, []string{lower}) {
		t.Errorf("LayersInUse = %v, want [%s]", inUse, lower)
	}
}
