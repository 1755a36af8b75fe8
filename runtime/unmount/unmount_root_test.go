package unmount

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// All detaches nested mounts at and below a dir, whether or not the
// dir itself is a mount, and is idempotent; a missing dir is fine.
func TestAll_NestedAndIdempotent(t *testing.T) {
	testutil.RequireRoot(t)
	for _, topMounted := range []bool{false, true} {
		dir := t.TempDir()
		t.Cleanup(func() { _ = All(dir) })
		top := filepath.Join(dir, "top")
		mkdirs(t, top)
		if topMounted {
			if err := unix.Mount("tmpfs", top, "tmpfs", 0, ""); err != nil {
				t.Fatal(err)
			}
		}
		mkdirs(t, filepath.Join(top, "a", "b"), filepath.Join(top, "c"))
		for _, p := range []string{filepath.Join(top, "a"), filepath.Join(top, "c")} {
			if err := unix.Mount("tmpfs", p, "tmpfs", 0, ""); err != nil {
				t.Fatal(err)
			}
		}
		mkdirs(t, filepath.Join(top, "a", "b"))
		if err := unix.Mount("tmpfs", filepath.Join(top, "a", "b"), "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := All(top); err != nil {
				t.Fatalf("top mounted %v: %v", topMounted, err)
			}
			if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); err != nil || len(ms) != 0 {
				t.Fatalf("mounts left below %s: %v, %v", dir, ms, err)
			}
		}
	}
	if err := All(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// Mounts stacked on one mount point all go, and a mount below a shared
// mount's peer is detached without taking the peer's copy with it.
func TestAll_StackedAndNeverPropagates(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	t.Cleanup(func() { _ = All(base) })
	src, dir := filepath.Join(base, "src"), filepath.Join(base, "pod")
	mkdirs(t, src, dir)
	for range 3 {
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	// src is shared; its bind under dir is a peer, so a mount made below
	// the bind shows in src too.
	if err := unix.Mount("tmpfs", src, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", src, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	peer := filepath.Join(dir, "peer")
	mkdirs(t, peer)
	if err := unix.Mount(src, peer, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	mkdirs(t, filepath.Join(peer, "sub"))
	if err := unix.Mount("tmpfs", filepath.Join(peer, "sub"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if ok, err := mountinfo.Mounted(filepath.Join(src, "sub")); err != nil || !ok {
		t.Fatalf("the mount did not propagate to the peer (%v, %v): the test proves nothing", ok, err)
	}
	if err := All(dir); err != nil {
		t.Fatal(err)
	}
	if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); err != nil || len(ms) != 0 {
		t.Fatalf("mounts left below %s: %v, %v", dir, ms, err)
	}
	if ok, err := mountinfo.Mounted(filepath.Join(src, "sub")); err != nil || !ok {
		t.Errorf("unmounting below the pod dir took the peer's mount with it (%v, %v)", ok, err)
	}
}

// A pod's delete takes down its mounts with one read of the mount table
// (the host's table is long at 200 pods, and each read parses all of it),
// not one to find them, one more to detach them and one to see them gone.
func TestAll_ReadsTheMountTableOnce(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	t.Cleanup(func() { _ = All(dir) })
	for _, sub := range []string{"", "a", "a/b", "c"} {
		p := filepath.Join(dir, sub)
		mkdirs(t, p)
		if err := unix.Mount("tmpfs", p, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	reads := countTableReads(t)
	if err := All(dir); err != nil {
		t.Fatal(err)
	}
	if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); err != nil || len(ms) != 0 {
		t.Fatalf("mounts left below %s: %v, %v", dir, ms, err)
	}
	if *reads != 1 {
		t.Errorf("All read the mount table %d times, want 1", *reads)
	}
}

// A mount hidden under a later mount on one of its parents only shows
// once the later one is gone: All reads the table again and detaches it.
func TestAll_MountHiddenUnderAnother(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	t.Cleanup(func() { _ = All(dir) })
	hidden := filepath.Join(dir, "a", "b")
	mkdirs(t, hidden)
	for _, p := range []string{hidden, filepath.Join(dir, "a")} {
		if err := unix.Mount("tmpfs", p, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := All(dir); err != nil {
		t.Fatal(err)
	}
	if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); err != nil || len(ms) != 0 {
		t.Fatalf("mounts left below %s: %v, %v", dir, ms, err)
	}
}
