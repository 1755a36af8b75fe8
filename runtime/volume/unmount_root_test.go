package volume

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// UnmountAll detaches nested mounts at and below a dir, whether or not the
// dir itself is a mount, and is idempotent; a missing dir is fine.
func TestUnmountAll_NestedAndIdempotent(t *testing.T) {
	testutil.RequireRoot(t)
	for _, topMounted := range []bool{false, true} {
		dir := t.TempDir()
		cleanupMounts(t, dir)
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
			if err := UnmountAll(top); err != nil {
				t.Fatalf("top mounted %v: %v", topMounted, err)
			}
			assertNoMountsBelow(t, dir)
		}
	}
	if err := UnmountAll(filepath.Join(t.TempDir(), "missing")); err != nil {
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
