package testutil

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// MakeDeepTree makes dir with a chain of depth nested directories "d"
// below it and a file "f" in each, as a container's program can in its
// emptyDir or writable layer (mkdir and chdir in a loop: no path is ever
// longer than a name); the deepest holds bottom as file "data" (nil:
// none).
func MakeDeepTree(t testing.TB, dir string, depth int, bottom []byte) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range depth {
		f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(f)
			err = unix.Mkdirat(fd, "d", 0o755)
		}
		next := -1
		if err == nil {
			next, err = unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
		unix.Close(fd)
		if err != nil {
			t.Fatalf("make a tree %d deep in %s: level %d: %v", depth, dir, i, err)
		}
		fd = next
	}
	defer unix.Close(fd)
	if bottom == nil {
		return
	}
	f, err := unix.Openat(fd, "data", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatalf("make a tree %d deep in %s: its data: %v", depth, dir, err)
	}
	data := os.NewFile(uintptr(f), "data")
	defer data.Close()
	if _, err := data.Write(bottom); err != nil {
		t.Fatalf("make a tree %d deep in %s: its data: %v", depth, dir, err)
	}
}
