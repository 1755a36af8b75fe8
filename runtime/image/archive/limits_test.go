package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sparse entry is refused before anything is written: 1 KB of archive
// must never become gigabytes on disk.
func TestApplyRefusesSparseEntries(t *testing.T) {
	const realSize = 2100 << 20 // 2.1 GB declared
	for _, tc := range []struct {
		name string
		tar  func(testing.TB, string, int64) *bytes.Reader
	}{
		{"old GNU sparse", gnuSparseTar},
		{"PAX GNU sparse 1.0", paxSparseTar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, _ := sandbox(t)
			err := Apply(context.Background(), root, tc.tar(t, "bomb", realSize), Options{})
			if !errors.Is(err, ErrSparse) {
				t.Fatalf("Apply = %v, want ErrSparse", err)
			}
			if n := treeBytes(t, root); n != 0 {
				t.Errorf("%d bytes written for a refused sparse entry", n)
			}
		})
	}
}

// MaxSize bounds the uncompressed stream of one layer: a file bigger than
// what is left is refused before it is written, and a stream that goes on
// past its end marker is cut at the cap too.
func TestApplyBoundsLayerSize(t *testing.T) {
	t.Run("file over the cap refused before writing", func(t *testing.T) {
		root, _ := sandbox(t)
		big := strings.Repeat("x", 64<<10)
		err := Apply(context.Background(), root, tarOf(t, entry{name: "big", body: big}), Options{MaxSize: 32 << 10})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Apply = %v, want ErrTooLarge", err)
		}
		if n := treeBytes(t, root); n != 0 {
			t.Errorf("%d bytes written before the refusal", n)
		}
	})
	t.Run("many files summing over the cap", func(t *testing.T) {
		root, _ := sandbox(t)
		var ents []entry
		for i := range 10 {
			ents = append(ents, entry{name: fmt.Sprintf("f%d", i), body: strings.Repeat("y", 8<<10)})
		}
		err := Apply(context.Background(), root, tarOf(t, ents...), Options{MaxSize: 40 << 10})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Apply = %v, want ErrTooLarge", err)
		}
		if n := treeBytes(t, root); n > 40<<10 {
			t.Errorf("%d bytes written, more than the 40 KiB cap", n)
		}
	})
	t.Run("endless padding after the end marker", func(t *testing.T) {
		root, _ := sandbox(t)
		r := io.MultiReader(tarOf(t, entry{name: "a", body: "x"}), zeros{})
		err := Apply(context.Background(), root, r, Options{MaxSize: 1 << 20})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Apply = %v, want ErrTooLarge", err)
		}
	})
	t.Run("within the cap", func(t *testing.T) {
		root, _ := sandbox(t)
		err := Apply(context.Background(), root, tarOf(t, entry{name: "a", body: "hello"}), Options{MaxSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestApplyBoundsEntryCount(t *testing.T) {
	root, _ := sandbox(t)
	var ents []entry
	for i := range 50 {
		ents = append(ents, entry{name: fmt.Sprintf("e%d", i)})
	}
	err := Apply(context.Background(), root, tarOf(t, ents...), Options{MaxEntries: 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Apply = %v, want ErrTooLarge", err)
	}
	if n := len(listDir(t, root)); n > 20 {
		t.Errorf("%d entries written, cap 20", n)
	}
}

// Apply reads the stream to its end, so that a caller hashing it (the
// diffID check) sees the padding after the end marker.
func TestApplyConsumesTheStream(t *testing.T) {
	root, _ := sandbox(t)
	r := io.MultiReader(tarOf(t, entry{name: "a", body: "x"}), bytes.NewReader(make([]byte, 4096)))
	cr := &countReader{r: r}
	if err := Apply(context.Background(), root, cr, Options{MaxSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("stream not consumed: %v", err)
	}
}

func TestApplyEscapesThroughLinks(t *testing.T) {
	t.Run("hardlink to /etc/shadow is scoped to the layer", func(t *testing.T) {
		root, _ := sandbox(t)
		before := nlink(t, "/etc/shadow")
		err := apply(t, root, entry{name: "shadow", typ: tar.TypeLink, link: "/etc/shadow"})
		if err == nil {
			t.Fatal("hardlink to /etc/shadow, absent from the layer, succeeded")
		}
		if after := nlink(t, "/etc/shadow"); after != before {
			t.Errorf("/etc/shadow link count %d -> %d", before, after)
		}
	})
	t.Run("hardlink to /etc/shadow through a symlink to /etc", func(t *testing.T) {
		root, _ := sandbox(t)
		before := nlink(t, "/etc/shadow")
		err := apply(t, root,
			entry{name: "etc", typ: tar.TypeSymlink, link: "/etc"},
			entry{name: "x", typ: tar.TypeLink, link: "etc/shadow"})
		if err == nil {
			t.Fatal("hardlink through an absolute symlink succeeded")
		}
		if after := nlink(t, "/etc/shadow"); after != before {
			t.Errorf("/etc/shadow link count %d -> %d", before, after)
		}
	})
	t.Run("file written through an absolute symlink to /etc stays in the layer", func(t *testing.T) {
		root, _ := sandbox(t)
		err := apply(t, root,
			entry{name: "e", typ: tar.TypeSymlink, link: "/etc"},
			entry{name: "e/podd-escape-test", body: "pwned"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat("/etc/podd-escape-test"); !os.IsNotExist(err) {
			os.Remove("/etc/podd-escape-test")
			t.Fatalf("file written to the host's /etc: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(root, "etc/podd-escape-test")); err != nil || string(b) != "pwned" {
			t.Errorf("root/etc/podd-escape-test = %q, %v", b, err)
		}
	})
	t.Run("symlink chain climbing out", func(t *testing.T) {
		root, _ := sandbox(t)
		err := apply(t, root,
			entry{name: "a", typ: tar.TypeSymlink, link: "b/../.."},
			entry{name: "b", typ: tar.TypeSymlink, link: "../../.."},
			entry{name: "a/outside/secret", body: "pwned"})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func nlink(t testing.TB, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Skipf("%s: %v", p, err)
	}
	return linkCount(fi)
}

// treeBytes sums the sizes of the regular files under dir.
func treeBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
