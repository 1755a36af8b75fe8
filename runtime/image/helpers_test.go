package image

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	testimage "github.com/podd-dev/podd/test/image"
)

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "images"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// busyboxArchive writes the busybox fixture, tagged ref, and returns its path.
func busyboxArchive(t testing.TB, ref string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busybox.tar")
	if err := testimage.BuildBusybox(p, ref); err != nil {
		t.Fatal(err)
	}
	return p
}

// labelled returns the busybox image with one label set, a distinct image.
func labelled(t testing.TB, label string) v1.Image {
	t.Helper()
	img, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.Labels = map[string]string{"variant": label}
	img, err = mutate.Config(img, *cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeArchive writes a docker archive of refs -> images; a name.Digest key
// stands for an untagged image.
func writeArchive(t testing.TB, refs map[name.Reference]v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "images.tar")
	if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
		t.Fatal(err)
	}
	return p
}

// tarDir packs dir into a tar file, as `tar -C dir -cf out .` would.
func tarDir(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "layout.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			_, err = io.Copy(tw, in)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustDigest(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func emptyIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	return empty.Index
}

// classicArchive rewrites a docker archive in the layout of `docker save`
// before Docker 25: uncompressed "<id>/layer.tar" layers and a
// "repositories" file.
func classicArchive(t testing.TB, src string) string {
	t.Helper()
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(src) })
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out := filepath.Join(t.TempDir(), "classic.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	renamed := map[string]string{}
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if strings.HasSuffix(h.Name, ".tar.gz") {
			zr, err := gzip.NewReader(tr)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
			newName := strings.TrimSuffix(h.Name, ".tar.gz") + "/layer.tar"
			renamed[h.Name] = newName
			h.Name = newName
		} else if h.Name == "manifest.json" {
			continue
		} else {
			body, _ = io.ReadAll(tr)
		}
		h.Size = int64(len(body))
		tw.WriteHeader(h)
		tw.Write(body)
	}
	for i := range m {
		for j, l := range m[i].Layers {
			m[i].Layers[j] = renamed[l]
		}
	}
	mb, _ := json.Marshal(m)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(mb)), Typeflag: tar.TypeReg})
	tw.Write(mb)
	repos := []byte(`{"busybox":{"classic":"x"}}`)
	tw.WriteHeader(&tar.Header{Name: "repositories", Mode: 0o644, Size: int64(len(repos)), Typeflag: tar.TypeReg})
	tw.Write(repos)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
