package diskusage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
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

// A tree nested deeper than a path may be long (PATH_MAX), as a container
// can make one, is counted to its bottom: a walk by paths stopped with
// ENAMETOOLONG there, and what lay below went uncounted (an emptyDir's
// sizeLimit passed without eviction).
func TestWalkDeeperThanAPathMayBeLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deep")
	const depth = 2500 // "d/" a level: 5000 bytes of path below dir
	testutil.MakeDeepTree(t, dir, depth, bytes.Repeat([]byte{1}, 4<<20))
	u, err := Walk(context.Background(), dir)
	if err != nil {
		t.Fatalf("Walk: %.300v", err)
	}
	// dir, and at each level a dir d and a file f; then data.
	if want := uint64(2*depth + 2); u.Inodes != want {
		t.Errorf("inodes %d, want %d", u.Inodes, want)
	}
	if u.Bytes < 4<<20 {
		t.Errorf("bytes %d, want at least the 4 MiB at the bottom", u.Bytes)
	}
}

// Back up in a directory, the walk goes on after the subdirectory it came
// from: with more entries than one read returns, every inode counts once.
func TestWalkCountsAWideTreeOnce(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("n", 100)
	const subs = 600
	for i := range subs {
		sub := filepath.Join(dir, fmt.Sprintf("%s%d", long, i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(sub, "f"), filepath.Join(dir, fmt.Sprintf("file%d", i))} {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	u, err := Walk(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1 + 3*subs); u.Inodes != want {
		t.Errorf("inodes %d, want %d", u.Inodes, want)
	}
}

// Walk counts allocated blocks, not apparent sizes, and does not follow
// symbolic links out of the directory; a cancelled walk is an error.
func TestWalkCountsAllocatedBlocksAndNoLinkTarget(t *testing.T) {
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
	u, err := Walk(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Bytes; got < 1<<20 || got > 2<<20 {
		t.Fatalf("usage %d bytes; want about 1 MiB (the data file, not the sparse file nor the link's target)", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Walk(ctx, dir); err == nil {
		t.Fatal("a cancelled measure reports no error")
	}
}
