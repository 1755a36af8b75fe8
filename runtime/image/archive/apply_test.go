package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// entry is one hand-made tar entry; typ defaults to a regular file.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
	mtime            time.Time
}

func tarOf(t testing.TB, entries ...entry) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, ModTime: e.mtime}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// sandbox makes base/{root,outside}, with base/outside/secret, and checks at
// cleanup that nothing was written to base or base/outside.
func sandbox(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if got := listDir(t, base); strings.Join(got, ",") != "outside,root" {
			t.Errorf("base dir holds %v, want only outside and root", got)
		}
		if got := listDir(t, outside); strings.Join(got, ",") != "secret" {
			t.Errorf("outside dir holds %v, want only secret", got)
		}
		b, err := os.ReadFile(filepath.Join(outside, "secret"))
		if err != nil || string(b) != "keep" {
			t.Errorf("outside/secret = %q, %v; want untouched", b, err)
		}
		var st os.FileInfo
		if st, err = os.Lstat(filepath.Join(outside, "secret")); err == nil && linkCount(st) != 1 {
			t.Errorf("outside/secret gained hardlinks: %d", linkCount(st))
		}
	})
	return root, outside
}

func listDir(t testing.TB, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func apply(t testing.TB, root string, entries ...entry) error {
	t.Helper()
	return Apply(context.Background(), root, tarOf(t, entries...), Options{})
}

func TestApplyRefusesEscapingNames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"absolute path", []entry{{name: "/etc/evil", body: "x"}}},
		{"dot-dot", []entry{{name: "../evil", body: "x"}}},
		{"dot-dot inside", []entry{{name: "a/../../evil", body: "x"}}},
		{"dot-dot to outside dir", []entry{{name: "../outside/secret", body: "pwned"}}},
		{"hardlink climbing out", []entry{{name: "l", typ: tar.TypeLink, link: "../outside/secret"}}},
		{"whiteout of dot-dot", []entry{{name: "a/.wh...", typ: tar.TypeReg}}},
		{"whiteout of dot", []entry{{name: "a/.wh..", typ: tar.TypeReg}}},
		{"whiteout climbing out", []entry{{name: "../.wh.secret", typ: tar.TypeReg}}},
		{"whiteout with empty name", []entry{{name: ".wh.", typ: tar.TypeReg}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, _ := sandbox(t)
			err := apply(t, root, tc.entries...)
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("Apply = %v, want ErrUnsafePath", err)
			}
		})
	}
}

func TestApplyContainsSymlinkTricks(t *testing.T) {
	t.Run("write through absolute symlink dir", func(t *testing.T) {
		root, outside := sandbox(t)
		err := apply(t, root,
			entry{name: "evil", typ: tar.TypeSymlink, link: outside},
			entry{name: "evil/pwned", body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		// The symlink resolves as if root were "/": the file lands under root.
		if _, err := os.Stat(filepath.Join(root, outside, "pwned")); err != nil {
			t.Fatalf("file not contained under root: %v", err)
		}
	})
	t.Run("write through relative symlink climbing out", func(t *testing.T) {
		root, _ := sandbox(t)
		err := apply(t, root,
			entry{name: "d", typ: tar.TypeDir},
			entry{name: "d/evil", typ: tar.TypeSymlink, link: "../../outside"},
			entry{name: "d/evil/secret", body: "pwned"})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(root, "outside", "secret")); err != nil || string(b) != "pwned" {
			t.Fatalf("root/outside/secret = %q, %v", b, err)
		}
	})
	t.Run("symlink at final component replaced, not followed", func(t *testing.T) {
		root, outside := sandbox(t)
		err := apply(t, root,
			entry{name: "f", typ: tar.TypeSymlink, link: filepath.Join(outside, "secret")},
			entry{name: "f", body: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(root, "f"))
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("root/f = %v, %v; want a regular file", fi, err)
		}
	})
	t.Run("hardlink to absolute outside path is scoped", func(t *testing.T) {
		root, outside := sandbox(t)
		err := apply(t, root, entry{name: "l", typ: tar.TypeLink, link: filepath.Join(outside, "secret")})
		if err == nil {
			t.Fatal("hardlink to a missing scoped target succeeded")
		}
	})
	t.Run("hardlink through symlink dir is scoped", func(t *testing.T) {
		root, outside := sandbox(t)
		err := apply(t, root,
			entry{name: "s", typ: tar.TypeSymlink, link: outside},
			entry{name: "l", typ: tar.TypeLink, link: "s/secret"})
		if err == nil {
			t.Fatal("hardlink through a symlink to outside succeeded")
		}
	})
	t.Run("hardlink to symlink links the symlink", func(t *testing.T) {
		root, outside := sandbox(t)
		err := apply(t, root,
			entry{name: "s", typ: tar.TypeSymlink, link: filepath.Join(outside, "secret")},
			entry{name: "l", typ: tar.TypeLink, link: "s"})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(filepath.Join(root, "l")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("root/l = %v, %v; want a symlink", fi, err)
		}
	})
}

func TestApplyWritesTree(t *testing.T) {
	root, _ := sandbox(t)
	dirTime := time.Unix(1600000000, 0)
	err := apply(t, root,
		entry{name: "./bin/", typ: tar.TypeDir, mtime: dirTime},
		entry{name: "./bin/busybox", body: "elf", mode: 0o755},
		entry{name: "./bin/sh", typ: tar.TypeSymlink, link: "busybox"},
		entry{name: "./bin/ash", typ: tar.TypeLink, link: "bin/busybox"},
		entry{name: "./tmp/", typ: tar.TypeDir, mode: 0o1777},
		entry{name: "./etc/passwd", body: "root:x:0:0::/root:/bin/sh\n"},
		entry{name: "./replaced", typ: tar.TypeDir},
		entry{name: "./replaced", body: "now a file"},
		entry{name: "./fifo", typ: tar.TypeFifo, mode: 0o600},
	)
	if err != nil {
		t.Fatal(err)
	}
	mustMode(t, filepath.Join(root, "bin/busybox"), 0o755)
	mustMode(t, filepath.Join(root, "tmp"), os.ModeDir|os.ModeSticky|0o777)
	mustMode(t, filepath.Join(root, "etc"), os.ModeDir|0o755)
	mustMode(t, filepath.Join(root, "fifo"), os.ModeNamedPipe|0o600)
	if l, err := os.Readlink(filepath.Join(root, "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	a, _ := os.Stat(filepath.Join(root, "bin/busybox"))
	b, _ := os.Stat(filepath.Join(root, "bin/ash"))
	if !os.SameFile(a, b) {
		t.Error("bin/ash is not a hardlink of bin/busybox")
	}
	if fi, _ := os.Stat(filepath.Join(root, "bin")); !fi.ModTime().Equal(dirTime) {
		t.Errorf("bin mtime = %v, want %v (dir times set after entries)", fi.ModTime(), dirTime)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "replaced")); string(b) != "now a file" {
		t.Errorf("replaced = %q", b)
	}
}

func TestApplyImplicitDirInheritsFromParentLayer(t *testing.T) {
	lower, _ := sandbox(t)
	if err := apply(t, lower, entry{name: "tmp/", typ: tar.TypeDir, mode: 0o1777}); err != nil {
		t.Fatal(err)
	}
	upper, _ := sandbox(t)
	err := Apply(context.Background(), upper, tarOf(t, entry{name: "tmp/x", body: "x"}), Options{Parents: []string{lower}})
	if err != nil {
		t.Fatal(err)
	}
	mustMode(t, filepath.Join(upper, "tmp"), os.ModeDir|os.ModeSticky|0o777)
}

func TestApplyStopsOnCancel(t *testing.T) {
	root, _ := sandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Apply(ctx, root, tarOf(t, entry{name: "a", body: "x"}), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply = %v, want context.Canceled", err)
	}
}

func mustMode(t testing.TB, p string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s mode = %v, want %v", p, fi.Mode(), want)
	}
}
