package treewalk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

func openDir(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// Down and back up: the parent is the directory the walk came from; a
// directory moved elsewhere meanwhile is refused, as is a symlink below.
func TestOpenBelowAndParent(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(base, "c"), filepath.Join(base, "a", "link")); err != nil {
		t.Fatal(err)
	}
	a := openDir(t, filepath.Join(base, "a"))
	aID, err := IDOf(a)
	if err != nil {
		t.Fatal(err)
	}
	if fd, _, err := OpenBelow(a, "link"); err == nil {
		unix.Close(fd)
		t.Fatal("OpenBelow followed a symlink")
	}
	b, _, err := OpenBelow(a, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(b)
	up, err := OpenParent(b, aID)
	if err != nil {
		t.Fatalf("OpenParent: %v", err)
	}
	unix.Close(up)
	if err := os.Rename(filepath.Join(base, "a", "b"), filepath.Join(base, "c", "b")); err != nil {
		t.Fatal(err)
	}
	if fd, err := OpenParent(b, aID); !errors.Is(err, ErrMoved) {
		if err == nil {
			unix.Close(fd)
		}
		t.Fatalf("OpenParent of a moved directory: %v, want ErrMoved", err)
	}
}

// Another mount's root is not entered.
func TestOpenBelowRefusesAMount(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	mnt := filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	if fd, _, err := OpenBelow(openDir(t, base), "mnt"); !errors.Is(err, ErrMount) {
		if err == nil {
			unix.Close(fd)
		}
		t.Fatalf("OpenBelow of a mount point: %v, want ErrMount", err)
	}
}
