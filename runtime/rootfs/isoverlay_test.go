package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// countMountReads makes readMounts count its calls for the test's length.
func countMountReads(t *testing.T) *int {
	t.Helper()
	n := new(int)
	orig := readMounts
	readMounts = func(f mountinfo.FilterFunc) ([]*mountinfo.Info, error) {
		*n++
		return orig(f)
	}
	t.Cleanup(func() { readMounts = orig })
	return n
}

// Mount checks whether the container's merged directory is already an
// overlay at every container start; the mount table it would read grows
// with every pod. A directory that is no mount point is answered without
// it.
func TestIsOverlayOfPlainDirReadsNoMountTable(t *testing.T) {
	reads := countMountReads(t)
	dir := t.TempDir()
	ok, err := isOverlay(dir)
	if err != nil || ok {
		t.Fatalf("isOverlay(%s) = %v, %v; want false", dir, ok, err)
	}
	if *reads != 0 {
		t.Errorf("isOverlay of a plain directory read the mount table %d times, want 0", *reads)
	}
}

// Something other than an overlay mounted at the path (here /proc) may hide
// an overlay under it: the mount table decides, as before.
func TestIsOverlayOfOtherMountAsksTheTable(t *testing.T) {
	reads := countMountReads(t)
	ok, err := isOverlay("/proc")
	if err != nil || ok {
		t.Fatalf("isOverlay(/proc) = %v, %v; want false", ok, err)
	}
	if *reads != 1 {
		t.Errorf("isOverlay(/proc) read the mount table %d times, want 1", *reads)
	}
}

// A symlink is never followed: the mount table names mount points by their
// own paths, so a symlink to an overlay is not one.
func TestIsOverlayDoesNotFollowSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "merged")
	if err := os.Symlink("/proc", link); err != nil {
		t.Fatal(err)
	}
	if ok, err := isOverlay(link); err != nil || ok {
		t.Fatalf("isOverlay(symlink to /proc) = %v, %v; want false", ok, err)
	}
}

// An overlay mounted at the path is recognised from the path alone, and a
// directory under it (an overlay too, but no mount point) is not one.
func TestIsOverlayOfOverlayReadsNoMountTable(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	lower := filepath.Join(base, "l0")
	if err := os.MkdirAll(filepath.Join(lower, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctr := filepath.Join(base, "ctr")
	t.Cleanup(func() { Unmount(ctr) })
	merged, err := Mount([]string{lower}, ctr, nil)
	if err != nil {
		t.Fatal(err)
	}
	reads := countMountReads(t)
	if ok, err := isOverlay(merged); err != nil || !ok {
		t.Fatalf("isOverlay(%s) = %v, %v; want true", merged, ok, err)
	}
	if ok, err := isOverlay(filepath.Join(merged, "sub")); err != nil || ok {
		t.Fatalf("isOverlay(%s/sub) = %v, %v; want false", merged, ok, err)
	}
	again, err := Mount([]string{lower}, ctr, nil)
	if err != nil || again != merged {
		t.Fatalf("Mount again = %q, %v; want %q", again, err, merged)
	}
	if *reads != 0 {
		t.Errorf("isOverlay and Mount of a mounted overlay read the mount table %d times, want 0", *reads)
	}
	// A tmpfs over the overlay hides it, but the table still lists it.
	if err := unix.Mount("tmpfs", merged, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	if ok, err := isOverlay(merged); err != nil || !ok {
		t.Fatalf("isOverlay(tmpfs over overlay) = %v, %v; want true", ok, err)
	}
}
