package rootfs_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/sys/mountinfo"

	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/rootfs"
	testimage "github.com/podd-dev/podd/test/image"
	"github.com/podd-dev/podd/test/testutil"
)

// twoLayerImage imports busybox plus a layer that whites out
// /www/index.html, makes /var opaque (hiding /var/www) and adds /etc/motd.
func twoLayerImage(t *testing.T, s *image.Store) image.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "www/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "www/.wh.index.html", Typeflag: tar.TypeReg},
		{Name: "var/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "var/.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "var/new", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 7},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("layer2\n"))
		}
	}
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "two.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("two:layers"), img); err != nil {
		t.Fatal(err)
	}
	imgs, err := s.Import(context.Background(), archive, "")
	if err != nil {
		t.Fatal(err)
	}
	return imgs[0]
}

func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out
}

func TestOverlayRootfsOfImportedImage(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	base := t.TempDir()
	s, err := image.Open(filepath.Join(base, "images"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := twoLayerImage(t, s)
	layers, err := s.Layers(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("Layers = %v, want 2", layers)
	}
	ctr := filepath.Join(base, "ctr")
	t.Cleanup(func() { rootfs.Unmount(ctr) })
	merged, err := rootfs.Mount(layers, ctr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := rootfs.Mount(layers, ctr, nil); err != nil || again != merged {
		t.Fatalf("second Mount = %q, %v; want %q", again, err, merged)
	}
	if n := len(mountsUnder(t, ctr)); n != 1 {
		t.Fatalf("%d mounts under %s, want 1", n, ctr)
	}

	// The static busybox runs straight from the merged dir, and reads the
	// upper layer's file through it.
	out, err := exec.Command(filepath.Join(merged, "bin/busybox"), "cat", filepath.Join(merged, "etc/motd")).CombinedOutput()
	if err != nil || string(out) != "layer2\n" {
		t.Fatalf("busybox cat etc/motd = %q, %v", out, err)
	}
	if err := exec.Command(filepath.Join(merged, "bin/busybox"), "true").Run(); err != nil {
		t.Fatalf("bin/busybox true: %v", err)
	}
	if err := exec.Command(filepath.Join(merged, "bin/sh"), "-c", "true").Run(); err != nil {
		t.Fatalf("bin/sh -c true: %v", err)
	}
	// Whiteout and opaque dir from layer 2 hide layer 1's entries.
	if _, err := os.Lstat(filepath.Join(merged, "www/index.html")); !os.IsNotExist(err) {
		t.Errorf("www/index.html visible through its whiteout: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(merged, "var")); len(ents) != 1 || ents[0].Name() != "new" {
		t.Errorf("opaque var holds %v, want only new", ents)
	}
	if _, err := os.Stat(filepath.Join(layers[0], "www/index.html")); err != nil {
		t.Errorf("lower layer lost www/index.html: %v", err)
	}
	// Writes land in the upper dir only.
	if err := os.WriteFile(filepath.Join(merged, "tmp/hello"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(merged, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ctr, "upper/tmp/hello")); err != nil || string(b) != "hi" {
		t.Errorf("upper/tmp/hello = %q, %v", b, err)
	}
	for _, l := range layers {
		if _, err := os.Lstat(filepath.Join(l, "tmp/hello")); !os.IsNotExist(err) {
			t.Errorf("write reached layer %s", l)
		}
	}
	if _, err := os.Lstat(filepath.Join(layers[0], "bin/sh")); err != nil {
		t.Errorf("delete reached the lower layer: %v", err)
	}

	if err := rootfs.Unmount(ctr); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, ctr); len(m) != 0 {
		t.Errorf("mounts left after Unmount: %v", m)
	}
	if _, err := os.Stat(ctr); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", ctr, err)
	}
	if err := rootfs.Unmount(ctr); err != nil {
		t.Errorf("second Unmount = %v, want nil", err)
	}
}

func TestMountManyLayersPastPageLimit(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	parent := filepath.Join(base, strings.Repeat("d", 200), "layers")
	var lowers []string
	for i := 0; i < 40; i++ {
		l := filepath.Join(parent, fmt.Sprintf("%064x", i))
		if err := os.MkdirAll(l, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(l, "f"), []byte(fmt.Sprint(i)), 0o644)
		os.WriteFile(filepath.Join(l, fmt.Sprintf("only%d", i)), nil, 0o644)
		lowers = append(lowers, l)
	}
	if n := len(strings.Join(lowers, ":")); n < 4096 {
		t.Fatalf("test layers too short to pass the page limit: %d", n)
	}
	ctr := filepath.Join(base, "ctr")
	t.Cleanup(func() { rootfs.Unmount(ctr) })
	merged, err := rootfs.Mount(lowers, ctr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last (newest) layer wins; every layer contributes.
	if b, _ := os.ReadFile(filepath.Join(merged, "f")); string(b) != "39" {
		t.Errorf("merged/f = %q, want 39 (newest layer on top)", b)
	}
	if ents, _ := os.ReadDir(merged); len(ents) != 41 {
		t.Errorf("merged holds %d entries, want 41", len(ents))
	}
	// Shortened to relative names, the layers in use still name their dirs.
	inUse, err := rootfs.LayersInUse(ctr)
	if err != nil || len(inUse) != len(lowers) {
		t.Fatalf("LayersInUse = %d dirs, %v; want %d", len(inUse), err, len(lowers))
	}
	for i, l := range inUse {
		if want := filepath.Base(lowers[len(lowers)-1-i]); filepath.Base(l) != want {
			t.Errorf("LayersInUse[%d] = %s, want base %s", i, l, want)
		}
	}
	if wd, _ := os.Getwd(); strings.HasPrefix(wd, parent) {
		t.Errorf("process working directory changed to %s", wd)
	}
	if err := rootfs.Unmount(ctr); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, ctr); len(m) != 0 {
		t.Errorf("mounts left: %v", m)
	}
}

func TestUnmountMissingDir(t *testing.T) {
	if err := rootfs.Unmount(filepath.Join(t.TempDir(), "never")); err != nil {
		t.Errorf("Unmount of a missing dir = %v", err)
	}
}

// MountView shows an image's layers read-only (a single layer too), with
// the upper layer's whiteouts applied; LayersInUse counts its layers;
// Unmount removes it.
func TestMountViewIsReadOnly(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	base := t.TempDir()
	s, err := image.Open(filepath.Join(base, "images"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := s.Layers(ctx, twoLayerImage(t, s))
	if err != nil {
		t.Fatal(err)
	}
	for name, ls := range map[string][]string{"two layers": layers, "one layer": layers[:1]} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(name, " ", "-"))
			t.Cleanup(func() { rootfs.Unmount(dir) })
			view, err := rootfs.MountView(ls, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := rootfs.MountView(ls, dir, nil); err != nil || again != view {
				t.Fatalf("second MountView = %q, %v; want %q", again, err, view)
			}
			if out, err := exec.Command(filepath.Join(view, "bin/busybox"), "true").CombinedOutput(); err != nil {
				t.Errorf("bin/busybox from the view: %v %s", err, out)
			}
			_, motd := os.Stat(filepath.Join(view, "etc/motd"))
			_, index := os.Stat(filepath.Join(view, "www/index.html"))
			if len(ls) == 2 && (motd != nil || index == nil) || len(ls) == 1 && (motd == nil || index != nil) {
				t.Errorf("etc/motd: %v, www/index.html: %v", motd, index)
			}
			if err := os.WriteFile(filepath.Join(view, "tmp/x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
				t.Errorf("write into the view: %v, want EROFS", err)
			}
			inUse, err := rootfs.LayersInUse(dir)
			if err != nil || !slices.Contains(inUse, ls[len(ls)-1]) {
				t.Errorf("LayersInUse = %v, %v; want %s among them", inUse, err, ls[len(ls)-1])
			}
			if err := rootfs.Unmount(dir); err != nil {
				t.Fatal(err)
			}
			if m := mountsUnder(t, dir); len(m) != 0 {
				t.Errorf("mounts left: %v", m)
			}
		})
	}
}
