package diskusage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Every inode counts once (a hard link is not counted twice), and the
// bytes are the blocks allocated, not the files' lengths.
func TestWalkCountsInodesOnceAndAllocatedBytes(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = 1
	}
	if err := os.WriteFile(filepath.Join(dir, "a/b/f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "a/b/f"), filepath.Join(dir, "a/link")); err != nil {
		t.Fatal(err)
	}
	u, err := Walk(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// dir, a, a/b, f (the link is f again).
	if u.Inodes != 4 {
		t.Errorf("inodes %d, want 4", u.Inodes)
	}
	if u.Bytes < 64<<10 || u.Bytes > 64<<10+3*64<<10 {
		t.Errorf("bytes %d, want the 64 KiB file's blocks and three directories'", u.Bytes)
	}
}

func TestWalkMissingDir(t *testing.T) {
	_, err := Walk(context.Background(), filepath.Join(t.TempDir(), "gone"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err %v, want fs.ErrNotExist", err)
	}
}
