package volume

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// DiskUsage counts allocated blocks, not apparent sizes, and does not follow
// symbolic links out of the directory.
func TestDiskUsage(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "big"), make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "data"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// A sparse file of 1 GiB allocates (almost) nothing.
	f, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := DiskUsage(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got < 1<<20 || got > 2<<20 {
		t.Fatalf("usage %d bytes; want about 1 MiB (the data file, not the sparse file nor the link's target)", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DiskUsage(ctx, dir); err == nil {
		t.Fatal("a cancelled measure reports no error")
	}
}
