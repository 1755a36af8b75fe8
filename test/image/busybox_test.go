package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildBusyboxArchive(t *testing.T) {
	out := filepath.Join(t.TempDir(), "busybox.tar")
	if err := BuildBusybox(out, "busybox:latest"); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != "busybox:latest" {
		t.Fatalf("manifest.json = %+v, want one image tagged busybox:latest", m)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "sh" || cf.Config.Env[0] != DefaultEnv[0] {
		t.Errorf("config = %+v", cf.Config)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	for name, check := range map[string]func(h *tar.Header) bool{
		"bin/busybox":    func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg && h.Mode == 0o755 },
		"bin/sh":         func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "busybox" },
		"bin/wget":       func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink },
		"tmp/":           func(h *tar.Header) bool { return h.Mode == 0o1777 },
		"etc/passwd":     func(h *tar.Header) bool { return h.Size > 0 },
		"etc/group":      func(h *tar.Header) bool { return h.Size > 0 },
		"www/index.html": func(h *tar.Header) bool { return h.Size == int64(len(IndexHTML)) },
		"root/":          func(h *tar.Header) bool { return h.Typeflag == tar.TypeDir },
		"var/www/":       func(h *tar.Header) bool { return h.Typeflag == tar.TypeDir },
	} {
		if h, ok := got[name]; !ok || !check(h) {
			t.Errorf("entry %s = %+v, missing or wrong", name, h)
		}
	}
}

func TestBuildIsReproducible(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	for _, p := range []string{a, b} {
		if err := BuildBusybox(p, "busybox:latest"); err != nil {
			t.Fatal(err)
		}
	}
	ia, _ := tarball.ImageFromPath(a, nil)
	ib, _ := tarball.ImageFromPath(b, nil)
	da, _ := ia.Digest()
	db, _ := ib.Digest()
	if da != db {
		t.Errorf("two builds differ: %s vs %s", da, db)
	}
}

func TestBuildOCILayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	if err := BuildOCILayout(dir, "busybox:latest"); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json has %d manifests, want 1", len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.Annotations["org.opencontainers.image.ref.name"] != "latest" || d.Annotations["io.containerd.image.name"] != "busybox:latest" {
		t.Errorf("annotations = %v", d.Annotations)
	}
	if _, err := idx.Image(d.Digest); err != nil {
		t.Fatal(err)
	}
}
