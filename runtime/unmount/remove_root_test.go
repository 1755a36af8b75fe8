package unmount

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// countTableReads counts the reads of the mount table from here on.
func countTableReads(t *testing.T) *int {
	t.Helper()
	reads := new(int)
	real := getMounts
	getMounts = func(dir string) ([]*mountinfo.Info, error) {
		*reads++
		return real(dir)
	}
	t.Cleanup(func() { getMounts = real })
	return reads
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A tree with no mount in it (a container's rootfs dir once its overlay is
// detached) goes without a read of the mount table: files, nested and
// unreadable dirs, a dir of more entries than one read of it returns, and a
// symlink, removed and not followed.
func TestRemoveAll_TreeWithoutMountsReadsNoMountTable(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	mkdirs(t, outside)
	writeFile(t, filepath.Join(outside, "keep"), "host data")
	dir := filepath.Join(base, "rootfs")
	mkdirs(t, filepath.Join(dir, "upper", "a", "b", "c"), filepath.Join(dir, "work", "work"), filepath.Join(dir, "merged"), filepath.Join(dir, "many"))
	writeFile(t, filepath.Join(dir, "upper", "a", "b", "c", "f"), "x")
	for i := range 2500 {
		writeFile(t, filepath.Join(dir, "many", fmt.Sprintf("f%d", i)), "")
	}
	if err := os.Chmod(filepath.Join(dir, "work", "work"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "upper", "link")); err != nil {
		t.Fatal(err)
	}
	reads := countTableReads(t)
	if err := RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there (%v)", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "keep")); err != nil || string(b) != "host data" {
		t.Fatalf("the symlink's target lost its file: %q, %v", b, err)
	}
	if *reads != 0 {
		t.Errorf("RemoveAll read the mount table %d times, want 0", *reads)
	}
	if err := RemoveAll(dir); err != nil {
		t.Errorf("RemoveAll of a missing dir: %v", err)
	}
	if err := RemoveAll(filepath.Join(base, "missing", "dir")); err != nil {
		t.Errorf("RemoveAll below a missing dir: %v", err)
	}
}

// A mount below the dir — a host dir bound onto a directory, a host file
// bound onto a file, the dir itself mounted over — is detached, never
// deleted into: what the binds showed is still on the host.
func TestRemoveAll_NeverDeletesAcrossAMount(t *testing.T) {
	testutil.RequireRoot(t)
	for _, where := range []string{"dir bind", "file bind", "dir itself"} {
		t.Run(where, func(t *testing.T) {
			base := t.TempDir()
			t.Cleanup(func() { _ = All(base) })
			hostDir, hostFile := filepath.Join(base, "hostdir"), filepath.Join(base, "hostfile")
			mkdirs(t, hostDir)
			writeFile(t, filepath.Join(hostDir, "keep"), "host data")
			writeFile(t, hostFile, "host file")
			dir := filepath.Join(base, "rootfs")
			mkdirs(t, filepath.Join(dir, "upper", "a", "b"), filepath.Join(dir, "upper", "z"))
			writeFile(t, filepath.Join(dir, "upper", "z", "f"), "")
			writeFile(t, filepath.Join(dir, "upper", "a", "target"), "")
			var err error
			switch where {
			case "dir bind":
				err = unix.Mount(hostDir, filepath.Join(dir, "upper", "a", "b"), "", unix.MS_BIND, "")
			case "file bind":
				err = unix.Mount(hostFile, filepath.Join(dir, "upper", "a", "target"), "", unix.MS_BIND, "")
			case "dir itself":
				err = unix.Mount(hostDir, dir, "", unix.MS_BIND, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Fatalf("%s still there (%v)", dir, err)
			}
			if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); err != nil || len(ms) != 0 {
				t.Fatalf("mounts left below %s: %v, %v", dir, ms, err)
			}
			if b, err := os.ReadFile(filepath.Join(hostDir, "keep")); err != nil || string(b) != "host data" {
				t.Errorf("the bound host dir lost its file: %q, %v", b, err)
			}
			if b, err := os.ReadFile(hostFile); err != nil || string(b) != "host file" {
				t.Errorf("the bound host file: %q, %v", b, err)
			}
		})
	}
}

// Detach takes down a stack of mounts on one mount point without reading
// the mount table; a plain dir, a missing one and a symlink are no error.
func TestDetach_StackWithoutMountTable(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	t.Cleanup(func() { _ = All(base) })
	mp := filepath.Join(base, "merged")
	mkdirs(t, mp)
	mkdirs(t, filepath.Join(base, "plain"))
	for range 3 {
		if err := unix.Mount("tmpfs", mp, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	mkdirs(t, filepath.Join(mp, "sub"))
	if err := unix.Mount("tmpfs", filepath.Join(mp, "sub"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mp, filepath.Join(base, "link")); err != nil {
		t.Fatal(err)
	}
	reads := countTableReads(t)
	if err := Detach(filepath.Join(base, "link")); err != nil {
		t.Fatalf("Detach of a symlink: %v", err)
	}
	if ok, err := mountinfo.Mounted(mp); err != nil || !ok {
		t.Fatalf("Detach of a symlink to a mount point unmounted it (%v, %v)", ok, err)
	}
	for _, p := range []string{mp, filepath.Join(base, "plain"), filepath.Join(base, "missing")} {
		if err := Detach(p); err != nil {
			t.Fatalf("Detach(%s): %v", p, err)
		}
	}
	if *reads != 0 {
		t.Errorf("Detach read the mount table %d times, want 0", *reads)
	}
	if ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(base)); err != nil || len(ms) != 0 {
		t.Fatalf("mounts left below %s: %v, %v", base, ms, err)
	}
}
